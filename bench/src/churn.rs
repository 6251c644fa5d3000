//! Warning quality on public churn data, loaded the way a user loads it (`bellwether import`)
//! and measured the way the product measures it (`warningQuality`), beside baselines computed
//! here, outside the product, on the same raw columns.
//!
//! - Telco (IBM Telco Customer Churn, 7,043 subscriptions, a snapshot): one observation date,
//!   the day of the snapshot; churners churn within the 30 days after it. Tenure becomes the
//!   contract start, monthly charges the annual value, every other column a custom attribute.
//! - CDNOW (69,659 purchases of 23,570 customers, 1997-1998): each purchase an `ORDER`
//!   interaction; the outcome is inactivity (no purchase in the 180 days after the date).
//!
//! Both are scored on a frozen 30% hold-out of customers (a fixed hash of the row index or the
//! customer id, the same rule as the outside reference computed with scikit-learn).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use bellwether_api::import::{self, Format, Options, SignalKind};
use bellwether_domain::attributes::{self, AttributeKind, AttributeSpec};
use bellwether_domain::health::scorecard::{Bands, Definition, MeasureKind, MeasureSpec};
use bellwether_domain::health::{self, ScorecardInput};
use bellwether_domain::{AccountId, Actor, Role, ScorecardId, accounts};
use bellwether_rules::engine::Engine;
use bellwether_rules::quality::{Outcome, Quality, QualityRequest};
use bellwether_tests::{Backend, TestServer};
use chrono::{Duration, NaiveDate};

/// The splitmix64 finaliser with seed 42: a customer is in the hold-out when it lands in the
/// first 300 of 1000 buckets.
fn is_holdout(key: u64) -> bool {
    let mut z = key.wrapping_add(42).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % 1000 < 300
}

/// ROC AUC with ties counted half (outside the product: the check on `warningQuality`).
fn auc(pairs: &[(f64, bool)]) -> f64 {
    let mut v = pairs.to_vec();
    bellwether_domain::health::quality::auc(&mut v).unwrap_or(f64::NAN)
}

// Dense matrix arithmetic reads best with indices.
#[allow(clippy::needless_range_loop)]
/// L2-regularised logistic regression (the objective of scikit-learn's default: 0.5 |w|^2 +
/// C * sum of log-losses, intercept unpenalised, C = 1), fitted by Newton's method on
/// standardised features. Returns (weights, intercept).
fn logistic(x: &[Vec<f64>], y: &[bool]) -> (Vec<f64>, f64) {
    let d = x[0].len();
    let mut w = vec![0.0; d + 1]; // last: intercept
    for _ in 0..50 {
        let mut grad = vec![0.0; d + 1];
        let mut hess = vec![vec![0.0; d + 1]; d + 1];
        for (row, label) in x.iter().zip(y) {
            let z: f64 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + w[d];
            let p = 1.0 / (1.0 + (-z).exp());
            let err = p - if *label { 1.0 } else { 0.0 };
            let s = p * (1.0 - p);
            for i in 0..=d {
                let xi = if i == d { 1.0 } else { row[i] };
                grad[i] += err * xi;
                for j in 0..=i {
                    let xj = if j == d { 1.0 } else { row[j] };
                    hess[i][j] += s * xi * xj;
                }
            }
        }
        for i in 0..=d {
            for j in 0..i {
                hess[j][i] = hess[i][j];
            }
            if i < d {
                grad[i] += w[i];
                hess[i][i] += 1.0;
            }
            hess[i][i] += 1e-9;
        }
        let step = solve(hess, grad);
        let size: f64 = step.iter().map(|s| s * s).sum::<f64>().sqrt();
        for (wi, si) in w.iter_mut().zip(&step) {
            *wi -= si;
        }
        if size < 1e-10 {
            break;
        }
    }
    let b = w.pop().unwrap_or_default();
    (w, b)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)]
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let pivot = (c..n).max_by(|i, j| a[*i][c].abs().total_cmp(&a[*j][c].abs())).unwrap_or(c);
        a.swap(c, pivot);
        b.swap(c, pivot);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// Standardises columns with the training rows' mean and (population) deviation.
fn standardise(train: &mut [Vec<f64>], test: &mut [Vec<f64>]) {
    let d = train[0].len();
    for j in 0..d {
        let n = train.len() as f64;
        let mean = train.iter().map(|r| r[j]).sum::<f64>() / n;
        let sd = (train.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        for r in train.iter_mut().chain(test.iter_mut()) {
            r[j] = (r[j] - mean) / sd;
        }
    }
}

fn lr_auc(train: (Vec<Vec<f64>>, Vec<bool>), test: (Vec<Vec<f64>>, Vec<bool>)) -> f64 {
    let (mut xtr, ytr) = train;
    let (mut xte, yte) = test;
    standardise(&mut xtr, &mut xte);
    let (w, b) = logistic(&xtr, &ytr);
    let pairs: Vec<(f64, bool)> =
        xte.iter().zip(&yte).map(|(r, y)| (r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() + b, *y)).collect();
    auc(&pairs)
}

/// A key or option as the product stores it: lowercase, words joined by `_`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

struct Setup {
    server: TestServer,
    actor: Actor,
    engine: Engine,
}

async fn setup(slug: &str) -> anyhow::Result<Setup> {
    let server = TestServer::start(Backend::Sqlite).await.context("sqlite")?;
    server.tenant(slug).await;
    let org = bellwether_domain::organisations::by_slug(&server.db, slug).await?.context("tenant")?;
    let admin = bellwether_domain::users::by_email(&server.db, org.id, &format!("admin@{slug}.test"))
        .await?
        .context("admin")?;
    let actor = Actor { organisation: org.id, user: admin.id, role: Role::Admin, time_zone: org.time_zone };
    Ok(Setup { server, actor, engine: Engine::default() })
}

async fn load(s: &Setup, kind: SignalKind, path: &Path) -> anyhow::Result<()> {
    let t = Instant::now();
    let options = Options { kind, format: Format::Csv, batch_size: 5_000, max_line_bytes: 1 << 20 };
    let mut problems = Vec::new();
    let summary = import::run(&s.server.db, &s.actor, path, options, |p| problems.push(p)).await?;
    if summary.rejected > 0 {
        let first = problems.first().map(|p| format!("line {}: {}", p.line, p.message)).unwrap_or_default();
        bail!("{} rows of {} rejected, e.g. {first}", summary.rejected, path.display());
    }
    println!(
        "  imported {:>6} {:<13} in {:>6.1} s",
        summary.accepted + summary.updated,
        format!("{kind:?}").to_lowercase(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn card(s: &Setup, name: &str, measures: Vec<MeasureSpec>) -> anyhow::Result<ScorecardId> {
    let definition = Definition { measures, bands: Bands { good: 70.0, watch: 45.0 } };
    let input = ScorecardInput { name: name.into(), definition, make_default: false };
    Ok(health::create_scorecard(&s.server.db, &s.actor, input).await?.id)
}

async fn ids(s: &Setup, refs: &[String]) -> anyhow::Result<Vec<AccountId>> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        out.push(accounts::by_external_ref(&s.server.db, s.actor.organisation, r).await?.context("account")?.id);
    }
    Ok(out)
}

fn print_quality(q: &Quality, elapsed: f64) {
    println!(
        "  warningQuality: {} dates, {} accounts, {} observations, outcome rate {:.3}, {elapsed:.1} s",
        q.dates.len(),
        q.accounts,
        q.observations,
        q.base_rate.unwrap_or(f64::NAN)
    );
    println!(
        "  {:<34} {:>6} {:>9} {:>7} {:>7} {:>9} {:>7} {:>9}",
        "target", "AUC", "coverage", "prec.", "recall", "top-10% lift", "lead d", "never w."
    );
    let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    for t in &q.targets {
        println!(
            "  {:<34} {:>6} {:>9.3} {:>7} {:>7} {:>12} {:>7} {:>9}",
            t.name,
            f(t.figures.auc),
            t.figures.coverage,
            f(t.figures.precision),
            f(t.figures.recall),
            f(t.figures.lift_top_decile),
            t.figures.median_lead_days.map_or("-".into(), |d| format!("{d:.0}")),
            f(t.figures.never_warned_share),
        );
    }
}

/// Every built-in rule's key.
fn all_rules() -> Vec<String> {
    bellwether_rules::builtin::all().iter().map(|r| r.meta().key.clone()).collect()
}

pub async fn run(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/churn-data"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-churn-data");
    let status = std::process::Command::new(&script).arg(&dir).status().context("running scripts/fetch-churn-data")?;
    if !status.success() {
        bail!("fetching the data sets failed");
    }
    telco(&dir).await?;
    cdnow(&dir).await?;
    Ok(())
}

const TELCO_CATEGORIES: [&str; 16] = [
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
];

async fn telco(dir: &Path) -> anyhow::Result<()> {
    println!("\nTelco (IBM Telco Customer Churn: 7,043 subscriptions, a snapshot; churn within 30 days)");
    let mut reader = csv::Reader::from_path(dir.join("Telco_Customer_Churn.csv"))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    let col = |name: &str| header.iter().position(|h| h == name).context(name.to_owned());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(|f| f.trim().to_owned()).collect()))
        .collect::<Result<_, _>>()?;
    let (id, tenure, monthly, total, churn) =
        (col("customerID")?, col("tenure")?, col("MonthlyCharges")?, col("TotalCharges")?, col("Churn")?);
    let cats: Vec<(usize, String)> =
        TELCO_CATEGORIES.iter().map(|c| Ok((col(c)?, slug(c)))).collect::<anyhow::Result<_>>()?;
    // The snapshot's day; the churners leave in the month after it.
    let snapshot = NaiveDate::from_ymd_opt(2025, 9, 30).context("date")?;
    let s = setup("telco").await?;
    for (c, key) in &cats {
        let mut options: Vec<String> = rows.iter().map(|r| slug(&r[*c])).collect();
        options.sort();
        options.dedup();
        let spec = AttributeSpec {
            key: key.clone(),
            name: key.clone(),
            description: None,
            kind: AttributeKind::Enumeration,
            options,
        };
        attributes::define(&s.server.db, &s.actor, spec).await?;
    }
    let spec = AttributeSpec {
        key: "total_charges".into(),
        name: "Total charges".into(),
        description: None,
        kind: AttributeKind::Number,
        options: Vec::new(),
    };
    attributes::define(&s.server.db, &s.actor, spec).await?;

    let work = tempdir()?;
    let mut w = csv::Writer::from_path(work.join("accounts.csv"))?;
    let mut head =
        vec!["externalRef", "name", "tier", "annualValueMinor", "currency", "contractStart", "total_charges"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
    head.extend(cats.iter().map(|(_, k)| k.clone()));
    w.write_record(&head)?;
    let months = |r: &Vec<String>| r[tenure].parse::<f64>().unwrap_or(0.0);
    for r in &rows {
        let start = snapshot - Duration::days((months(r) * 30.44).round() as i64);
        let value = (r[monthly].parse::<f64>()? * 12.0 * 100.0).round() as i64;
        let mut rec = vec![
            r[id].clone(),
            r[id].clone(),
            "standard".into(),
            value.to_string(),
            "USD".into(),
            start.to_string(),
            r[total].parse::<f64>().unwrap_or(0.0).to_string(),
        ];
        rec.extend(cats.iter().map(|(c, _)| slug(&r[*c])));
        w.write_record(&rec)?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(work.join("outcomes.csv"))?;
    w.write_record(["account", "status", "churnedOn", "reason"])?;
    for (i, r) in rows.iter().enumerate().filter(|(_, r)| r[churn] == "Yes") {
        let on = snapshot + Duration::days(1 + (i as i64 % 30));
        w.write_record([r[id].as_str(), "churned", &on.to_string(), "left (Telco data set)"])?;
    }
    w.flush()?;
    load(&s, SignalKind::Accounts, &work.join("accounts.csv")).await?;
    load(&s, SignalKind::Outcomes, &work.join("outcomes.csv")).await?;

    let holdout: Vec<usize> = (0..rows.len()).filter(|i| is_holdout(*i as u64)).collect();
    let train: Vec<usize> = (0..rows.len()).filter(|i| !is_holdout(*i as u64)).collect();
    let churned = |i: usize| rows[i][churn] == "Yes";

    // A scorecard a CS analyst builds from the training accounts: each fact's options scored by
    // their retention rate, tenure and charges by the retention of their bands, each weighted by
    // how well it ranks the training accounts alone.
    let retention = |groups: &HashMap<String, (usize, usize)>, g: &str| {
        groups.get(g).map_or(50.0, |(n, c)| 100.0 * (1.0 - *c as f64 / (*n).max(1) as f64))
    };
    let mut measures = Vec::new();
    for (c, key) in &cats {
        let mut groups: HashMap<String, (usize, usize)> = HashMap::new();
        for i in &train {
            let e = groups.entry(slug(&rows[*i][*c])).or_default();
            e.0 += 1;
            e.1 += usize::from(churned(*i));
        }
        let pairs: Vec<(f64, bool)> =
            train.iter().map(|i| (-retention(&groups, &slug(&rows[*i][*c])), churned(*i))).collect();
        let weight = ((auc(&pairs) - 0.5) * 100.0).clamp(0.5, 100.0);
        let scores: BTreeMap<String, f64> = groups.keys().map(|g| (g.clone(), retention(&groups, g))).collect();
        measures.push(MeasureSpec {
            kind: MeasureKind::Attribute,
            weight,
            attribute: Some(key.clone()),
            scores: Some(scores),
            ..Default::default()
        });
    }
    let banded = |value: &dyn Fn(usize) -> f64, edges: &[f64]| -> (Vec<(f64, f64)>, f64) {
        let mut points = Vec::new();
        for w in edges.windows(2) {
            let members: Vec<usize> = train.iter().copied().filter(|i| value(*i) >= w[0] && value(*i) < w[1]).collect();
            let rate = members.iter().filter(|i| churned(**i)).count() as f64 / members.len().max(1) as f64;
            points.push(((w[0] + w[1]) / 2.0, 100.0 * (1.0 - rate)));
        }
        let curve = |x: f64| bellwether_domain::health::scorecard::curve(x, &points);
        let pairs: Vec<(f64, bool)> = train.iter().map(|i| (-curve(value(*i)), churned(*i))).collect();
        (points, ((auc(&pairs) - 0.5) * 100.0).clamp(0.5, 100.0))
    };
    let tenure_days = |i: usize| (months(&rows[i]) * 30.44).round();
    let (points, weight) = banded(&tenure_days, &[0.0, 92.0, 183.0, 365.0, 730.0, 1095.0, 1461.0, 1826.0, 2300.0]);
    measures.push(MeasureSpec { kind: MeasureKind::Tenure, weight, curve: Some(points), ..Default::default() });
    let annual = |i: usize| rows[i][monthly].parse::<f64>().unwrap_or(0.0) * 12.0;
    let (points, weight) = banded(&annual, &[0.0, 300.0, 500.0, 700.0, 900.0, 1100.0, 1300.0, 1500.0]);
    measures.push(MeasureSpec { kind: MeasureKind::AnnualValue, weight, curve: Some(points), ..Default::default() });
    let cs = card(&s, "CS scorecard (account facts)", measures).await?;
    let tenure_card = card(
        &s,
        "Tenure alone",
        vec![MeasureSpec {
            kind: MeasureKind::Tenure,
            weight: 1.0,
            curve: Some(vec![(0.0, 0.0), (2300.0, 100.0)]),
            ..Default::default()
        }],
    )
    .await?;
    let contract_card = card(
        &s,
        "Contract alone",
        vec![MeasureSpec {
            kind: MeasureKind::Attribute,
            weight: 1.0,
            attribute: Some("contract".into()),
            scores: Some(BTreeMap::from([
                ("month_to_month".to_owned(), 0.0),
                ("one_year".to_owned(), 50.0),
                ("two_year".to_owned(), 100.0),
            ])),
            ..Default::default()
        }],
    )
    .await?;
    let standard = health::scorecards(&s.server.db, s.actor.organisation).await?.into_iter().find(|c| c.is_default);
    let mut scorecards = vec![(tenure_card, None), (contract_card, None)];
    scorecards.extend(standard.map(|c| (c.id, None)));
    // The analyst's threshold: a score under 65 (about the portfolio's churn rate below the
    // average retention) is worth a call.
    scorecards.push((cs, Some(65.0)));
    let refs: Vec<String> = holdout.iter().map(|i| rows[*i][id].clone()).collect();
    let req = QualityRequest {
        from: snapshot,
        to: snapshot,
        every_days: 1,
        horizon_days: 30,
        outcome: Outcome::Churn,
        scorecards,
        rules: all_rules(),
        accounts: ids(&s, &refs).await?,
        rule_params: Default::default(),
    };
    let t = Instant::now();
    let q =
        s.engine.warning_quality(&s.server.db, s.actor.organisation, s.actor.time_zone, s.actor.today(), req).await?;
    print_quality(&q, t.elapsed().as_secs_f64());

    // Outside the product: the same hold-out, the raw columns.
    let features = |i: usize| -> Vec<f64> {
        let r = &rows[i];
        vec![
            r[col("SeniorCitizen").unwrap_or(0)].parse().unwrap_or(0.0),
            months(r),
            r[monthly].parse().unwrap_or(0.0),
            r[total].parse().unwrap_or(0.0),
        ]
    };
    let mut levels: Vec<(usize, String)> = Vec::new();
    for (c, _) in cats.iter().filter(|(c, _)| Some(*c) != col("SeniorCitizen").ok()) {
        let mut seen: Vec<String> = train.iter().map(|i| rows[*i][*c].clone()).collect();
        seen.sort();
        seen.dedup();
        levels.extend(seen.into_iter().map(|l| (*c, l)));
    }
    let row = |i: usize| -> Vec<f64> {
        let mut v = features(i);
        v.extend(levels.iter().map(|(c, l)| if rows[i][*c] == *l { 1.0 } else { 0.0 }));
        v
    };
    let set = |idx: &[usize]| (idx.iter().map(|i| row(*i)).collect(), idx.iter().map(|i| churned(*i)).collect());
    let lr = lr_auc(set(&train), set(&holdout));
    let tenure_outside = auc(&holdout.iter().map(|i| (-months(&rows[*i]), churned(*i))).collect::<Vec<_>>());
    println!("  outside the product, same hold-out ({} accounts):", holdout.len());
    println!("    logistic regression on the raw columns (L2, C=1):  AUC {lr:.3}");
    println!("    tenure alone:                                      AUC {tenure_outside:.3}");
    let cs_auc = q
        .targets
        .iter()
        .find(|t| t.scorecard.as_ref().map(|c| c.id) == Some(cs))
        .and_then(|t| t.figures.auc)
        .unwrap_or(f64::NAN);
    println!(
        "  goal: CS scorecard within 0.03 of the regression: {:.3} vs {lr:.3} (gap {:.3}) -> {}",
        cs_auc,
        lr - cs_auc,
        if lr - cs_auc <= 0.03 { "reached" } else { "NOT reached" }
    );
    Ok(())
}

async fn cdnow(dir: &Path) -> anyhow::Result<()> {
    println!("\nCDNOW (69,659 purchases of 23,570 customers, 1997-01 to 1998-06; outcome: no purchase in 180 days)");
    let text = std::fs::read_to_string(dir.join("CDNOW_master.txt"))?;
    // (customer, day, CDs, dollars)
    let mut purchases: Vec<(u64, NaiveDate, i64, f64)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            continue;
        }
        purchases.push((f[0].parse()?, NaiveDate::parse_from_str(f[1], "%Y%m%d")?, f[2].parse()?, f[3].parse()?));
    }
    let mut first: BTreeMap<u64, NaiveDate> = BTreeMap::new();
    for (c, d, _, _) in &purchases {
        first.entry(*c).and_modify(|f| *f = (*f).min(*d)).or_insert(*d);
    }
    let s = setup("cdnow").await?;
    let work = tempdir()?;
    let mut w = csv::Writer::from_path(work.join("accounts.csv"))?;
    w.write_record(["externalRef", "name", "tier", "contractStart"])?;
    for (c, d) in &first {
        w.write_record([&format!("C{c:05}"), &format!("Customer {c}"), "standard", &d.to_string()])?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(work.join("interactions.csv"))?;
    w.write_record(["account", "idempotencyKey", "kind", "direction", "occurredAt", "summary"])?;
    for (n, (c, d, cds, dollars)) in purchases.iter().enumerate() {
        w.write_record([
            &format!("C{c:05}"),
            &format!("cdnow-{n}"),
            "order",
            "inbound",
            &format!("{d}T12:00:00Z"),
            &format!("{cds} CD(s), ${dollars:.2}"),
        ])?;
    }
    w.flush()?;
    load(&s, SignalKind::Accounts, &work.join("accounts.csv")).await?;
    load(&s, SignalKind::Interactions, &work.join("interactions.csv")).await?;

    let recency = card(
        &s,
        "Days since last purchase",
        vec![MeasureSpec { kind: MeasureKind::DaysSinceActivity, weight: 1.0, ..Default::default() }],
    )
    .await?;
    let cs = card(
        &s,
        "CS scorecard (recency + frequency)",
        vec![
            MeasureSpec { kind: MeasureKind::DaysSinceActivity, weight: 60.0, ..Default::default() },
            MeasureSpec {
                kind: MeasureKind::ActivityFrequency,
                weight: 40.0,
                window_days: Some(365),
                ..Default::default()
            },
        ],
    )
    .await?;
    let standard = health::scorecards(&s.server.db, s.actor.organisation).await?.into_iter().find(|c| c.is_default);
    let mut scorecards = vec![(recency, None)];
    scorecards.extend(standard.map(|c| (c.id, None)));
    scorecards.push((cs, None));
    let holdout: Vec<u64> = first.keys().copied().filter(|c| is_holdout(*c)).collect();
    let train: Vec<u64> = first.keys().copied().filter(|c| !is_holdout(*c)).collect();
    let account_ids = ids(&s, &holdout.iter().map(|c| format!("C{c:05}")).collect::<Vec<_>>()).await?;
    let t_obs = NaiveDate::from_ymd_opt(1997, 12, 31).context("date")?;
    let request = |from: NaiveDate, every: i64, rules: Vec<String>| QualityRequest {
        from,
        to: t_obs,
        every_days: every,
        horizon_days: 180,
        outcome: Outcome::Inactivity,
        scorecards: scorecards.clone(),
        rules,
        accounts: account_ids.clone(),
        rule_params: Default::default(),
    };
    println!("  one observation date, {t_obs} (the outside reference's):");
    let t = Instant::now();
    let q = s
        .engine
        .warning_quality(
            &s.server.db,
            s.actor.organisation,
            s.actor.time_zone,
            s.actor.today(),
            request(t_obs, 1, all_rules()),
        )
        .await?;
    print_quality(&q, t.elapsed().as_secs_f64());

    // Outside: recency, frequency, monetary and tenure at the date, from the raw file.
    let end = t_obs + Duration::days(180);
    let mut by: HashMap<u64, Vec<(NaiveDate, f64)>> = HashMap::new();
    for (c, d, _, v) in &purchases {
        by.entry(*c).or_default().push((*d, *v));
    }
    let rfm = |c: u64| -> (Vec<f64>, bool) {
        let p = &by[&c];
        let before: Vec<&(NaiveDate, f64)> = p.iter().filter(|(d, _)| *d <= t_obs).collect();
        let last = before.iter().map(|(d, _)| *d).max().unwrap_or(t_obs);
        let mut days: Vec<NaiveDate> = before.iter().map(|(d, _)| *d).collect();
        days.sort();
        days.dedup();
        let monetary: f64 = before.iter().map(|(_, v)| v).sum();
        let label = !p.iter().any(|(d, _)| *d > t_obs && *d <= end);
        let x = vec![
            (t_obs - last).num_days() as f64,
            (days.len() as f64).ln_1p(),
            monetary.ln_1p(),
            (t_obs - first[&c]).num_days() as f64,
        ];
        (x, label)
    };
    let set = |cs: &[u64]| {
        let v: Vec<(Vec<f64>, bool)> = cs.iter().map(|c| rfm(*c)).collect();
        (v.iter().map(|r| r.0.clone()).collect(), v.iter().map(|r| r.1).collect())
    };
    let lr = lr_auc(set(&train), set(&holdout));
    let recency_outside = auc(&holdout.iter().map(|c| rfm(*c)).map(|(x, y)| (x[0], y)).collect::<Vec<_>>());
    println!("  outside the product, same hold-out ({} customers):", holdout.len());
    println!("    days since last purchase:                                  AUC {recency_outside:.3}");
    println!("    logistic regression on recency, frequency, spend, tenure:  AUC {lr:.3}");

    println!("  time-ordered: observation dates every 30 days from 1997-04-30 to {t_obs}:");
    let t = Instant::now();
    let from = NaiveDate::from_ymd_opt(1997, 4, 30).context("date")?;
    let q2 = s
        .engine
        .warning_quality(
            &s.server.db,
            s.actor.organisation,
            s.actor.time_zone,
            s.actor.today(),
            request(from, 30, Vec::new()),
        )
        .await?;
    print_quality(&q2, t.elapsed().as_secs_f64());
    let get = |q: &Quality, id: ScorecardId| {
        q.targets.iter().find(|t| t.scorecard.as_ref().map(|c| c.id) == Some(id)).and_then(|t| t.figures.auc)
    };
    if let (Some(std), Some(rec)) = (
        health::scorecards(&s.server.db, s.actor.organisation).await?.into_iter().find(|c| c.is_default).map(|c| c.id),
        Some(recency),
    ) {
        for (label, q) in [("single date", &q), ("time-ordered", &q2)] {
            let (a, b) = (get(q, std).unwrap_or(f64::NAN), get(q, rec).unwrap_or(f64::NAN));
            println!(
                "  goal ({label}): default health {a:.3} vs days since last purchase {b:.3} -> {}",
                if a > b { "reached" } else { "NOT reached" }
            );
        }
    }
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bellwether-churn-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}
