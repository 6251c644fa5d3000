//! The `bellwether` binary as a newcomer uses it: `serve --demo`, `create-org`, `token`,
//! `migrate`, `schema`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_bellwether");

struct Sandbox {
    dir: std::path::PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("bellwether-cli-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(&self.dir)
            .env_remove("BELLWETHER_DATABASE_URL")
            .env_remove("BELLWETHER_CONFIG")
            .env_remove("BELLWETHER_JWT_SECRET")
            .env("BELLWETHER_LISTEN", "127.0.0.1:0");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.command().args(args).output().unwrap();
        assert!(out.status.success(), "bellwether {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `bellwether serve --demo` and reads the address and token it prints.
fn serve_demo(sandbox: &Sandbox) -> (Child, String, String, String) {
    let mut child =
        sandbox.command().args(["serve", "--demo"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line =
            rx.recv_timeout(std::time::Duration::from_secs(60)).expect("serve --demo printed its address and token");
        if let Some(u) = line.strip_prefix("GraphiQL: ") {
            url = Some(u.to_owned());
        } else if line.starts_with("ey") {
            token = Some(line.clone());
        }
        lines.push(line);
    }
    (child, url.unwrap(), token.unwrap(), lines.join("\n"))
}

async fn account_count(url: &str, token: &str) -> Value {
    query(url, token, "{ organisation { slug } accounts { totalCount } users { totalCount } }").await
}

/// Runs a query that must succeed; returns `data`.
async fn query(url: &str, token: &str, query: &str) -> Value {
    let res =
        reqwest::Client::new().post(url).bearer_auth(token).json(&json!({ "query": query })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = res.json::<Value>().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn serve_demo_is_ready_to_explore_and_idempotent() {
    let sandbox = Sandbox::new();
    let (mut child, url, token, printed) = serve_demo(&sandbox);
    assert!(printed.contains("loaded"), "{printed}");
    let first = account_count(&url, &token).await;
    assert_eq!(first["organisation"]["slug"], "demo");
    assert_eq!(first["accounts"]["totalCount"], 12);
    // The follow-through is there to explore: a plan under way, a post-mortem with feedback.
    let data = query(&url, &token, "{ risks(filter: { statuses: [MITIGATING] }) { nodes { actionPlans { progress { total done } } updates { totalCount } } } postMortems { nodes { outcome feedbackItems { team } } } }").await;
    assert_eq!(data["risks"]["nodes"][0]["actionPlans"][0]["progress"], json!({ "total": 4, "done": 1 }), "{data}");
    assert_eq!(data["risks"]["nodes"][0]["updates"]["totalCount"], 2);
    assert_eq!(
        data["postMortems"]["nodes"],
        json!([{ "outcome": "MITIGATED", "feedbackItems": [{ "team": "FINANCE" }] }])
    );
    // GraphiQL opens with the demo admin's token in its headers.
    let page = reqwest::Client::new().get(&url).header("accept", "text/html").send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("Bearer {token}")), "GraphiQL is not prefilled with the demo token");
    // A page asked for under another name (DNS rebinding to 127.0.0.1) does not get it.
    let rebound = reqwest::Client::new()
        .get(&url)
        .header("accept", "text/html")
        .header("host", "rebound.example:8080")
        .send()
        .await
        .unwrap();
    let html = rebound.text().await.unwrap();
    assert!(html.contains("id=\"graphiql\"") && !html.contains(&token), "the demo token went to a foreign host");
    child.kill().unwrap();
    child.wait().unwrap();

    // Second start on the same database: nothing is loaded twice, the same signing secret is used.
    let (mut child, url, token2, printed) = serve_demo(&sandbox);
    assert!(printed.contains("already present"), "{printed}");
    assert_eq!(account_count(&url, &token2).await, first);
    assert_eq!(account_count(&url, &token).await, first, "tokens survive a restart");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn create_org_then_mint_a_token() {
    let sandbox = Sandbox::new();
    assert!(sandbox.run(&["migrate"]).contains("migrations applied"));
    let out = sandbox.run(&[
        "create-org",
        "--slug",
        "globex",
        "--name",
        "Globex",
        "--admin-email",
        "Hank@Globex.example",
        "--admin-name",
        "Hank",
    ]);
    assert!(out.contains("created organisation 'globex'"), "{out}");
    let token = sandbox.run(&["token", "--org", "globex", "--user", "hank@globex.example", "--ttl", "10m"]);
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");

    let bad = sandbox.command().args(["token", "--org", "globex", "--user", "nobody@globex.example"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no user"));
    let dup = sandbox
        .command()
        .args(["create-org", "--slug", "globex", "--name", "G", "--admin-email", "a@b.example", "--admin-name", "A"])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let zone = sandbox
        .command()
        .args(["create-org", "--slug", "initech", "--name", "I", "--admin-email", "a@i.example", "--admin-name", "A"])
        .args(["--time-zone", "Mars/Olympus_Mons"])
        .output()
        .unwrap();
    assert!(!zone.status.success());
    assert!(String::from_utf8_lossy(&zone.stderr).contains("not a known time zone"), "{zone:?}");

    let schema = sandbox.run(&["schema"]);
    assert!(schema.contains("type Query"));
}

/// Adds a key account with `external_ref` to the sandbox's organisation `slug`, as its admin
/// `admin` (straight through the domain: what an import needs to find); returns the organisation.
async fn add_account(
    sandbox: &Sandbox,
    slug: &str,
    admin: &str,
    external_ref: &str,
) -> bellwether_domain::organisations::Organisation {
    let url = format!("sqlite://{}?mode=rwc", sandbox.dir.join("bellwether.db").display());
    let db = bellwether_domain::db::connect(&url, 1).await.unwrap();
    let org = bellwether_domain::organisations::by_slug(&db, slug).await.unwrap().unwrap();
    let admin = bellwether_domain::users::by_email(&db, org.id, admin).await.unwrap().unwrap();
    let actor =
        bellwether_domain::Actor { organisation: org.id, user: admin.id, role: admin.role, time_zone: org.time_zone };
    let new = bellwether_domain::accounts::NewAccount {
        name: format!("Account {external_ref}"),
        external_ref: Some(external_ref.into()),
        segment: None,
        industry: None,
        tier: bellwether_domain::Tier::Key,
        lifecycle_stage: None,
        annual_value: None,
        contract_start: None,
        renewal_date: None,
        account_manager: None,
        sales_owner: None,
        parent: None,
    };
    bellwether_domain::accounts::create(&db, &actor, new).await.unwrap();
    db.close().await.unwrap();
    org
}

#[tokio::test]
async fn import_streams_files_and_reruns_are_no_ops() {
    let sandbox = Sandbox::new();
    sandbox.run(&[
        "create-org",
        "--slug",
        "imp",
        "--name",
        "Importers",
        "--admin-email",
        "ops@imp.example",
        "--admin-name",
        "Ops",
        "--time-zone",
        "Australia/Sydney",
    ]);
    let org = add_account(&sandbox, "imp", "ops@imp.example", "CRM-1").await;
    assert_eq!(org.time_zone, bellwether_domain::Tz::Australia__Sydney);

    let mut jsonl = String::new();
    for d in 1..=5 {
        jsonl.push_str(&format!(
            "{{\"account\":\"CRM-1\",\"metric\":\"usage.active_users\",\"observedAt\":\"2026-01-{d:02}T00:00:00Z\",\"value\":{}}}\n",
            d * 10
        ));
    }
    jsonl.push_str("not json\n");
    jsonl.push_str(
        "{\"account\":\"CRM-1\",\"metric\":\"usage.logins\",\"observedAt\":\"2026-01-01T00:00:00Z\",\"value\":-1}\n",
    );
    jsonl.push_str(
        "{\"account\":\"CRM-404\",\"metric\":\"usage.logins\",\"observedAt\":\"2026-01-01T00:00:00Z\",\"value\":1}\n",
    );
    let file = sandbox.dir.join("usage.jsonl");
    std::fs::write(&file, jsonl).unwrap();
    let path = file.to_str().unwrap();
    let run = |args: &[&str]| sandbox.command().args(args).output().unwrap();
    let args = ["import", path, "--kind", "metrics", "--org", "imp", "--user", "ops@imp.example", "--batch-size", "2"];
    let first = run(&args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "5 accepted, 0 updated, 0 duplicates, 3 rejected");
    let problems = String::from_utf8_lossy(&first.stderr);
    for line in ["line 6:", "line 7: value:", "line 8: account.externalRef:"] {
        assert!(problems.contains(line), "{line} missing from: {problems}");
    }
    let again = run(&args);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "0 accepted, 0 updated, 5 duplicates, 3 rejected");

    // CSV, with a non-finite value and a ticket file.
    let csv = "account,metric,observedAt,value,source\nCRM-1,usage.logins,2026-01-02T00:00:00Z,7,crm\nCRM-1,usage.logins,2026-01-03T00:00:00Z,NaN,\n";
    let file = sandbox.dir.join("logins.csv");
    std::fs::write(&file, csv).unwrap();
    let out =
        run(&["import", file.to_str().unwrap(), "--kind", "metrics", "--org", "imp", "--user", "ops@imp.example"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1 accepted, 0 updated, 0 duplicates, 1 rejected");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: value: must be a finite number"));
    // A quoted comment over two lines is one record; a row with a field too many is refused.
    let surveys = "account,kind,score,comment,respondedAt,idempotencyKey\nCRM-1,nps,9,\"Great service,\nthanks\",2026-01-02T00:00:00Z,s-1\nCRM-1,nps,3,slow, very slow,2026-01-03T00:00:00Z,s-2\n";
    let file = sandbox.dir.join("surveys.csv");
    std::fs::write(&file, surveys).unwrap();
    let out =
        run(&["import", file.to_str().unwrap(), "--kind", "surveys", "--org", "imp", "--user", "ops@imp.example"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 accepted, 0 updated, 0 duplicates, 1 rejected",
        "{stderr}"
    );
    assert!(stderr.contains("line 4: has 7 fields; the header has 6"), "{stderr}");
    let tickets = "account,externalId,subject,priority,status,openedAt,firstResponseAt,resolvedAt\nCRM-1,T-1,Login broken,critical,open,2026-01-02T08:00:00Z,,\n";
    let file = sandbox.dir.join("tickets.csv");
    std::fs::write(&file, tickets).unwrap();
    let out =
        run(&["import", file.to_str().unwrap(), "--kind", "tickets", "--org", "imp", "--user", "ops@imp.example"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1 accepted, 0 updated, 0 duplicates, 0 rejected",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The peak resident memory of a running process, from /proc.
fn peak_resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("Linux /proc");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kb * 1024
}

#[tokio::test]
async fn import_skips_a_huge_line_from_a_pipe_without_holding_it() {
    use std::io::Write as _;
    let sandbox = Sandbox::new();
    sandbox.run(&[
        "create-org",
        "--slug",
        "pipe",
        "--name",
        "Pipes",
        "--admin-email",
        "ops@pipe.example",
        "--admin-name",
        "Ops",
    ]);
    add_account(&sandbox, "pipe", "ops@pipe.example", "CRM-1").await;

    let mut child = sandbox
        .command()
        .args(["import", "-", "--kind", "metrics", "--org", "pipe", "--user", "ops@pipe.example"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let point = |day: u32| {
        format!(
            "{{\"account\":\"CRM-1\",\"metric\":\"usage.active_users\",\"observedAt\":\"2026-01-{day:02}T00:00:00Z\",\"value\":{day}}}\n"
        )
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(point(1).as_bytes()).unwrap();
    // Line 2: 256 MiB in one line, streamed; the importer may hold at most 1 MiB of it.
    stdin.write_all(b"{\"account\":\"CRM-1\",\"metric\":\"usage.active_users\",\"source\":\"").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        stdin.write_all(&chunk).unwrap();
    }
    stdin.write_all(b"\"}\n").unwrap();
    stdin.write_all(point(3).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // All but the pipe's buffer of the long line has been read by now.
    let peak = peak_resident_bytes(child.id());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2 accepted, 0 updated, 0 duplicates, 1 rejected");
    assert!(stderr.contains("line 2: longer than 1048576 bytes"), "{stderr}");
    assert!(peak < 128 << 20, "the importer's memory peaked at {} MiB reading a 256 MiB line", peak >> 20);
}

#[tokio::test]
async fn import_history_accounts_with_attributes_contacts_orders_assessments_and_outcomes() {
    let sandbox = Sandbox::new();
    sandbox.run(&[
        "create-org",
        "--slug",
        "hist",
        "--name",
        "History",
        "--admin-email",
        "ops@hist.example",
        "--admin-name",
        "Ops",
    ]);
    // Two attributes defined first (straight through the domain), as an analyst would.
    {
        let url = format!("sqlite://{}?mode=rwc", sandbox.dir.join("bellwether.db").display());
        let db = bellwether_domain::db::connect(&url, 1).await.unwrap();
        let org = bellwether_domain::organisations::by_slug(&db, "hist").await.unwrap().unwrap();
        let admin = bellwether_domain::users::by_email(&db, org.id, "ops@hist.example").await.unwrap().unwrap();
        let actor = bellwether_domain::Actor {
            organisation: org.id,
            user: admin.id,
            role: admin.role,
            time_zone: org.time_zone,
        };
        use bellwether_domain::AttributeKind;
        use bellwether_domain::attributes::{AttributeSpec, define};
        let spec = |key: &str, kind, options: &[&str]| AttributeSpec {
            key: key.into(),
            name: key.into(),
            description: None,
            kind,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        };
        define(&db, &actor, spec("contract", AttributeKind::Enumeration, &["Month-to-month", "One year", "Two year"]))
            .await
            .unwrap();
        define(&db, &actor, spec("monthly_charges", AttributeKind::Number, &[])).await.unwrap();
        db.close().await.unwrap();
    }
    let run = |kind: &str, name: &str, body: &str| {
        let file = sandbox.dir.join(name);
        std::fs::write(&file, body).unwrap();
        let out = sandbox
            .command()
            .args(["import", file.to_str().unwrap(), "--kind", kind, "--org", "hist", "--user", "ops@hist.example"])
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    };

    // Subscription-shaped accounts: unknown columns that are attribute keys are attribute values.
    let accounts = "externalRef,name,tier,contractStart,contract,monthly_charges\n7590-VHVEG,Customer 7590,standard,2024-01-01,Month-to-month,29.85\n5575-GNVDE,Customer 5575,key,2023-02-01,One year,56.95\n3668-QPYBK,Customer 3668,standard,2024-03-01,Three year,53.85\n";
    let (out, err, ok) = run("accounts", "telco.csv", accounts);
    assert!(ok, "{err}");
    assert_eq!(out, "2 accepted, 0 updated, 0 duplicates, 1 rejected", "{err}");
    assert!(err.contains("line 4: attributes.0.value:"), "{err}");
    let (out, _, _) = run("accounts", "telco.csv", accounts);
    assert_eq!(out, "0 accepted, 0 updated, 2 duplicates, 1 rejected");
    // A column that is neither a field nor an attribute stops the import before any write.
    let (_, err, ok) = run("accounts", "typo.csv", "externalRef,name,contrakt\nX-1,X,One year\n");
    assert!(!ok && err.contains("`contrakt`"), "{err}");
    let (out, err, _) = run(
        "accounts",
        "accounts.jsonl",
        "{\"externalRef\":\"7590-VHVEG\",\"attributes\":{\"monthly_charges\":31.5}}\n",
    );
    assert_eq!(out, "0 accepted, 1 updated, 0 duplicates, 0 rejected", "{err}");

    let contacts = "account,idempotencyKey,name,level,role,email\n7590-VHVEG,P-1,Pat Buyer,management,decision_maker,pat@example.com\n";
    let (out, err, _) = run("contacts", "contacts.csv", contacts);
    assert_eq!(out, "1 accepted, 0 updated, 0 duplicates, 0 rejected", "{err}");

    // Transaction-shaped orders (CDNOW-like): one ORDER interaction per purchase.
    let orders = "account,idempotencyKey,kind,direction,occurredAt,summary,contacts\n7590-VHVEG,cdnow-1-19970101,order,inbound,1997-01-01T00:00:00Z,1 item; 11.77 USD,P-1\n5575-GNVDE,cdnow-2-19970112,order,inbound,1997-01-12T00:00:00Z,6 items; 89.00 USD,\n5575-GNVDE,cdnow-2-19970113,purchase,inbound,1997-01-13T00:00:00Z,1 item,\n";
    let (out, err, _) = run("interactions", "orders.csv", orders);
    assert_eq!(out, "2 accepted, 0 updated, 0 duplicates, 1 rejected", "{err}");
    assert!(err.contains("line 4:"), "{err}");
    let (out, _, _) = run("interactions", "orders.csv", orders);
    assert_eq!(out, "0 accepted, 0 updated, 2 duplicates, 1 rejected");

    let assessments = "{\"account\":\"5575-GNVDE\",\"assessedAt\":\"2025-01-01T00:00:00Z\",\"stakeholderSentiment\":4,\"competitivePressure\":2,\"strategicAlignment\":4,\"idempotencyKey\":\"a-1\"}\n";
    let (out, err, _) = run("assessments", "assessments.jsonl", assessments);
    assert_eq!(out, "1 accepted, 0 updated, 0 duplicates, 0 rejected", "{err}");

    let outcomes =
        "account,status,churnedOn,reason\n7590-VHVEG,churned,2025-06-30,Churn=Yes in the export\n5575-GNVDE,active,,\n";
    let (out, err, _) = run("outcomes", "outcomes.csv", outcomes);
    assert_eq!(out, "1 accepted, 0 updated, 1 duplicates, 0 rejected", "{err}");
    let (out, _, _) = run("outcomes", "outcomes.csv", outcomes);
    assert_eq!(out, "0 accepted, 0 updated, 2 duplicates, 0 rejected");

    // An event-shaped metric feed: points only on the days with activity.
    let sparse = "account,metric,observedAt,value\n7590-VHVEG,usage.logins,1997-01-01T00:00:00Z,3\n7590-VHVEG,usage.logins,1997-03-15T00:00:00Z,1\n5575-GNVDE,usage.logins,1997-02-02T00:00:00Z,8\n";
    let (out, err, _) = run("metrics", "sparse.csv", sparse);
    assert_eq!(out, "3 accepted, 0 updated, 0 duplicates, 0 rejected", "{err}");
}
