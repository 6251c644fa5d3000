//! `bellwether import`: streams a JSON Lines or CSV file of signals or history (accounts,
//! contacts, interactions, assessments, churn outcomes) into the organisation in
//! batches, through the same domain ingestion as the GraphQL bulk mutations. Memory stays
//! bounded by one batch: a line is never held beyond `max_line_bytes` (a longer one is skipped
//! to its end and reported with its number). Rerunning a file is a no-op (every item has an
//! idempotency key). `-` reads standard input.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};
use bellwether_domain::accounts::{self, AccountUpsert, OutcomeChange, OutcomeInput};
use bellwether_domain::attributes::{Assignment, ValueInput};
use bellwether_domain::contacts::{self, ContactUpsert};
use bellwether_domain::interactions::{self, ContactRef, InteractionInput};
use bellwether_domain::signals::assessments::{self, AssessmentInput};
use bellwether_domain::signals::invoices::{self, InvoiceInput};
use bellwether_domain::signals::metrics::{self, NewMetricPoint};
use bellwether_domain::signals::surveys::{self, SurveyInput};
use bellwether_domain::signals::tickets::{self, TicketInput};
use bellwether_domain::signals::{AccountRef, BatchReport, ItemStatus};
use bellwether_domain::{
    Actor, ContactLevel, ContactRole, Db, Direction, InteractionKind, InvoiceStatus, LifecycleStage, Sentiment,
    SurveyKind, TicketPriority, TicketStatus, Tier,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// Which signal the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalKind {
    Metrics,
    Tickets,
    Invoices,
    Surveys,
    /// Accounts by external reference; extra CSV columns named like a defined attribute key
    /// (and a JSON `attributes` object) are custom attribute values.
    Accounts,
    Contacts,
    Interactions,
    Assessments,
    /// Churn outcomes and reactivations.
    Outcomes,
}

/// The file's format; `auto` goes by the extension (`.csv`, otherwise JSON Lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Auto,
    Jsonl,
    Csv,
}

/// Counts over the whole file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub accepted: usize,
    pub updated: usize,
    pub duplicates: usize,
    pub rejected: usize,
}

impl Summary {
    fn add(&mut self, report: &BatchReport) {
        self.accepted += report.count(ItemStatus::Accepted);
        self.updated += report.count(ItemStatus::Updated);
        self.duplicates += report.count(ItemStatus::Duplicate);
        self.rejected += report.count(ItemStatus::Rejected);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetricRow {
    account: String,
    metric: String,
    observed_at: DateTime<Utc>,
    value: f64,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TicketRow {
    account: String,
    external_id: String,
    subject: Option<String>,
    priority: String,
    status: String,
    opened_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InvoiceRow {
    account: String,
    number: String,
    amount_minor: i64,
    currency: String,
    issued_on: NaiveDate,
    due_on: NaiveDate,
    paid_at: Option<DateTime<Utc>>,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SurveyRow {
    account: String,
    kind: String,
    score: i32,
    comment: Option<String>,
    responded_at: DateTime<Utc>,
    idempotency_key: Option<String>,
}

/// The known columns of an accounts file; other CSV columns must be defined attribute keys.
const ACCOUNT_COLUMNS: &[&str] = &[
    "externalRef",
    "name",
    "segment",
    "industry",
    "tier",
    "lifecycleStage",
    "annualValueMinor",
    "currency",
    "contractStart",
    "renewalDate",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccountRow {
    external_ref: String,
    name: Option<String>,
    segment: Option<String>,
    industry: Option<String>,
    tier: Option<String>,
    lifecycle_stage: Option<String>,
    annual_value_minor: Option<i64>,
    currency: Option<String>,
    contract_start: Option<NaiveDate>,
    renewal_date: Option<NaiveDate>,
    /// JSON Lines only: attribute key -> value (string, number, boolean; null clears).
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContactRow {
    account: String,
    idempotency_key: String,
    name: String,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    level: String,
    role: String,
    sentiment: Option<String>,
    active: Option<bool>,
    departed_on: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InteractionRow {
    account: String,
    idempotency_key: String,
    kind: String,
    direction: Option<String>,
    occurred_at: DateTime<Utc>,
    summary: String,
    /// Idempotency keys of the account's contacts present, separated by `;`.
    contacts: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssessmentRow {
    account: String,
    assessed_at: Option<DateTime<Utc>>,
    stakeholder_sentiment: i32,
    competitive_pressure: i32,
    strategic_alignment: i32,
    notes: Option<String>,
    idempotency_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OutcomeRow {
    account: String,
    /// `churned` or `active` (a reactivation).
    status: String,
    churned_on: Option<NaiveDate>,
    reason: Option<String>,
}

/// One parsed line, ready for its batch.
enum Item {
    Metric(NewMetricPoint),
    Ticket(TicketInput),
    Invoice(InvoiceInput),
    Survey(SurveyInput),
    Account(AccountUpsert),
    Contact(ContactUpsert),
    Interaction(InteractionInput),
    Assessment(AssessmentInput),
    Outcome(OutcomeInput),
}

fn untyped(v: &serde_json::Value) -> Result<ValueInput, String> {
    Ok(ValueInput::Untyped(match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return Err("an attribute value must be a string, number, boolean or null".into()),
    }))
}

fn account_item(r: AccountRow) -> Result<Item, String> {
    let annual_value = match (r.annual_value_minor, r.currency) {
        (None, None) => None,
        (Some(a), c) => Some((Ok(a), c.unwrap_or_else(|| "EUR".into()))),
        (None, Some(_)) => return Err("currency without annualValueMinor".into()),
    };
    let attributes = r
        .attributes
        .iter()
        .map(|(k, v)| Ok(Assignment { key: k.clone(), value: untyped(v)? }))
        .collect::<Result<_, String>>()?;
    Ok(Item::Account(AccountUpsert {
        external_ref: r.external_ref,
        name: r.name,
        segment: r.segment,
        industry: r.industry,
        tier: r.tier.map(|t| vocabulary(Tier::parse, &t)).transpose()?,
        lifecycle_stage: r.lifecycle_stage.map(|t| vocabulary(LifecycleStage::parse, &t)).transpose()?,
        annual_value,
        contract_start: r.contract_start.map(Ok),
        renewal_date: r.renewal_date.map(Ok),
        account_manager: None,
        attributes,
    }))
}

/// Parses an accounts CSV record: known columns by name, the others as attribute values.
fn account_from_csv(
    record: &csv::StringRecord,
    headers: &csv::StringRecord,
    attribute_columns: &[usize],
) -> Result<Item, String> {
    let known: Vec<usize> = (0..headers.len()).filter(|i| !attribute_columns.contains(i)).collect();
    let h: csv::StringRecord = known.iter().map(|&i| &headers[i]).collect();
    let r: csv::StringRecord = known.iter().map(|&i| &record[i]).collect();
    let row: AccountRow = r.deserialize(Some(&h)).map_err(|e| e.to_string())?;
    let mut item = account_item(row)?;
    if let Item::Account(a) = &mut item {
        for &i in attribute_columns {
            a.attributes
                .push(Assignment { key: headers[i].to_owned(), value: ValueInput::Untyped(record[i].to_owned()) });
        }
    }
    Ok(item)
}

fn vocabulary<T>(parse: fn(&str) -> Result<T, String>, value: &str) -> Result<T, String> {
    parse(&value.trim().to_lowercase())
}

fn account(reference: String) -> AccountRef {
    AccountRef::ExternalRef(reference)
}

/// Turns a parsed row into a domain item (enum values are case-insensitive).
fn to_item(row: impl Into<RowAny>) -> Result<Item, String> {
    Ok(match row.into() {
        RowAny::Account(r) => account_item(r)?,
        RowAny::Contact(r) => Item::Contact(ContactUpsert {
            account: account(r.account),
            idempotency_key: r.idempotency_key,
            name: r.name,
            title: r.title,
            email: r.email,
            phone: r.phone,
            level: vocabulary(ContactLevel::parse, &r.level)?,
            role: vocabulary(ContactRole::parse, &r.role)?,
            sentiment: r.sentiment.map(|s| vocabulary(Sentiment::parse, &s)).transpose()?,
            active: r.active,
            departed_on: r.departed_on.map(Ok),
        }),
        RowAny::Interaction(r) => Item::Interaction(InteractionInput {
            account: account(r.account),
            idempotency_key: r.idempotency_key,
            kind: vocabulary(InteractionKind::parse, &r.kind)?,
            direction: r.direction.map(|d| vocabulary(Direction::parse, &d)).transpose()?,
            occurred_at: Ok(r.occurred_at),
            summary: r.summary,
            contacts: r
                .contacts
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| ContactRef::Key(c.to_owned()))
                .collect(),
        }),
        RowAny::Assessment(r) => Item::Assessment(AssessmentInput {
            account: account(r.account),
            assessed_at: r.assessed_at.map(Ok),
            stakeholder_sentiment: r.stakeholder_sentiment,
            competitive_pressure: r.competitive_pressure,
            strategic_alignment: r.strategic_alignment,
            notes: r.notes,
            idempotency_key: r.idempotency_key,
        }),
        RowAny::Outcome(r) => Item::Outcome(OutcomeInput {
            account: account(r.account),
            change: match r.status.trim().to_lowercase().as_str() {
                "churned" => OutcomeChange::Churned {
                    on: r.churned_on.ok_or_else(|| "a churned row needs churnedOn".to_owned()),
                    reason: r.reason.ok_or("a churned row needs a reason")?,
                },
                "active" | "reactivated" => OutcomeChange::Reactivated,
                other => return Err(format!("unknown status '{other}' (churned or active)")),
            },
        }),
        RowAny::Metric(r) => Item::Metric(NewMetricPoint {
            account: account(r.account),
            metric: r.metric,
            observed_at: Ok(r.observed_at),
            value: r.value,
            source: r.source,
        }),
        RowAny::Ticket(r) => Item::Ticket(TicketInput {
            account: account(r.account),
            external_id: r.external_id,
            subject: r.subject,
            priority: vocabulary(TicketPriority::parse, &r.priority)?,
            status: vocabulary(TicketStatus::parse, &r.status)?,
            opened_at: Ok(r.opened_at),
            first_response_at: r.first_response_at.map(Ok),
            resolved_at: r.resolved_at.map(Ok),
        }),
        RowAny::Invoice(r) => Item::Invoice(InvoiceInput {
            account: account(r.account),
            number: r.number,
            amount_minor: Ok(r.amount_minor),
            currency: r.currency,
            issued_on: Ok(r.issued_on),
            due_on: Ok(r.due_on),
            paid_at: r.paid_at.map(Ok),
            status: vocabulary(InvoiceStatus::parse, &r.status)?,
        }),
        RowAny::Survey(r) => Item::Survey(SurveyInput {
            account: account(r.account),
            kind: vocabulary(SurveyKind::parse, &r.kind)?,
            score: r.score,
            contact: None,
            comment: r.comment,
            responded_at: Ok(r.responded_at),
            idempotency_key: r.idempotency_key,
        }),
    })
}

/// A row of any kind (the parsed form before it becomes a domain item).
enum RowAny {
    Metric(MetricRow),
    Ticket(TicketRow),
    Invoice(InvoiceRow),
    Survey(SurveyRow),
    Account(AccountRow),
    Contact(ContactRow),
    Interaction(InteractionRow),
    Assessment(AssessmentRow),
    Outcome(OutcomeRow),
}

macro_rules! row_any {
    ($($row:ident => $variant:ident),*) => {$(
        impl From<$row> for RowAny {
            fn from(r: $row) -> Self {
                Self::$variant(r)
            }
        }
    )*};
}
row_any!(AccountRow => Account, ContactRow => Contact, InteractionRow => Interaction, AssessmentRow => Assessment, OutcomeRow => Outcome);

impl From<MetricRow> for RowAny {
    fn from(r: MetricRow) -> Self {
        Self::Metric(r)
    }
}
impl From<TicketRow> for RowAny {
    fn from(r: TicketRow) -> Self {
        Self::Ticket(r)
    }
}
impl From<InvoiceRow> for RowAny {
    fn from(r: InvoiceRow) -> Self {
        Self::Invoice(r)
    }
}
impl From<SurveyRow> for RowAny {
    fn from(r: SurveyRow) -> Self {
        Self::Survey(r)
    }
}

/// Parses one JSON line for `kind`.
fn from_json(kind: SignalKind, line: &str) -> Result<Item, String> {
    let e = |e: serde_json::Error| e.to_string();
    match kind {
        SignalKind::Metrics => to_item(serde_json::from_str::<MetricRow>(line).map_err(e)?),
        SignalKind::Tickets => to_item(serde_json::from_str::<TicketRow>(line).map_err(e)?),
        SignalKind::Invoices => to_item(serde_json::from_str::<InvoiceRow>(line).map_err(e)?),
        SignalKind::Surveys => to_item(serde_json::from_str::<SurveyRow>(line).map_err(e)?),
        SignalKind::Accounts => to_item(serde_json::from_str::<AccountRow>(line).map_err(e)?),
        SignalKind::Contacts => to_item(serde_json::from_str::<ContactRow>(line).map_err(e)?),
        SignalKind::Interactions => to_item(serde_json::from_str::<InteractionRow>(line).map_err(e)?),
        SignalKind::Assessments => to_item(serde_json::from_str::<AssessmentRow>(line).map_err(e)?),
        SignalKind::Outcomes => to_item(serde_json::from_str::<OutcomeRow>(line).map_err(e)?),
    }
}

/// Parses one CSV record for `kind`.
fn from_csv(kind: SignalKind, record: &csv::StringRecord, headers: &csv::StringRecord) -> Result<Item, String> {
    let e = |e: csv::Error| e.to_string();
    match kind {
        SignalKind::Metrics => to_item(record.deserialize::<MetricRow>(Some(headers)).map_err(e)?),
        SignalKind::Tickets => to_item(record.deserialize::<TicketRow>(Some(headers)).map_err(e)?),
        SignalKind::Invoices => to_item(record.deserialize::<InvoiceRow>(Some(headers)).map_err(e)?),
        SignalKind::Surveys => to_item(record.deserialize::<SurveyRow>(Some(headers)).map_err(e)?),
        // Accounts go through `account_from_csv` (their extra columns are attributes).
        SignalKind::Accounts => to_item(record.deserialize::<AccountRow>(Some(headers)).map_err(e)?),
        SignalKind::Contacts => to_item(record.deserialize::<ContactRow>(Some(headers)).map_err(e)?),
        SignalKind::Interactions => to_item(record.deserialize::<InteractionRow>(Some(headers)).map_err(e)?),
        SignalKind::Assessments => to_item(record.deserialize::<AssessmentRow>(Some(headers)).map_err(e)?),
        SignalKind::Outcomes => to_item(record.deserialize::<OutcomeRow>(Some(headers)).map_err(e)?),
    }
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// The longest line read by default (1 MiB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// One line as read.
enum Line {
    Text(String),
    /// Longer than the limit: skipped without being held.
    TooLong,
    NotUtf8,
}

/// Splits a stream into lines of at most `max` bytes. A longer line is consumed to its end but
/// only counted, so memory never holds more than `max` bytes of it.
struct Lines<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    fn new(inner: R, max: usize) -> Self {
        Self { inner, max, buf: Vec::new() }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let (mut over, mut any) = (false, false);
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let newline = chunk.iter().position(|b| *b == b'\n');
            let take = newline.unwrap_or(chunk.len());
            if !over {
                // One byte of slack for the `\r` of a CRLF line end, checked once it is gone.
                if self.buf.len() + take > self.max + 1 {
                    over = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take + usize::from(newline.is_some()));
            if newline.is_some() {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if over || self.buf.len() > self.max {
            self.buf = Vec::new();
            return Ok(Some(Line::TooLong));
        }
        Ok(Some(match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(s) => Line::Text(s),
            Err(_) => Line::NotUtf8,
        }))
    }
}

/// Where a rejected row was and why.
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// How a file is read.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub kind: SignalKind,
    pub format: Format,
    /// Items per transaction (1-5000).
    pub batch_size: usize,
    /// Lines longer than this are rejected without being held in memory.
    pub max_line_bytes: usize,
}

/// Imports `path` (`-`: standard input); `on_problem` hears about each rejected row (line
/// numbers start at 1).
pub async fn run(
    db: &Db,
    actor: &Actor,
    path: &Path,
    options: Options,
    mut on_problem: impl FnMut(Problem),
) -> anyhow::Result<Summary> {
    let Options { kind, format, batch_size, max_line_bytes } = options;
    if !(1..=bellwether_domain::signals::MAX_BATCH).contains(&batch_size) {
        bail!("--batch-size must be between 1 and {}", bellwether_domain::signals::MAX_BATCH);
    }
    if max_line_bytes == 0 {
        bail!("--max-line-bytes must be positive");
    }
    let (input, len): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata().map(|m| m.len()).ok();
        (Box::new(file), len)
    };
    let bar = indicatif::ProgressBar::with_draw_target(len, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut lines = Lines::new(BufReader::new(Counting { inner: input, bar: bar.clone() }), max_line_bytes);
    let csv_format = match format {
        Format::Csv => true,
        Format::Jsonl => false,
        Format::Auto => path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    };

    let mut summary = Summary::default();
    // (line number, item) of the current batch.
    let mut batch: Vec<(usize, Item)> = Vec::with_capacity(batch_size);
    let flush = async |batch: &mut Vec<(usize, Item)>,
                       summary: &mut Summary,
                       on_problem: &mut dyn FnMut(Problem)|
           -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let lines: Vec<usize> = batch.iter().map(|(l, _)| *l).collect();
        let items = std::mem::take(batch);
        let report = ingest(db, actor, kind, items.into_iter().map(|(_, i)| i).collect()).await?;
        for r in report.items.iter().filter(|r| r.status == ItemStatus::Rejected) {
            let message = r
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field[2..].join("."), e.message))
                .collect::<Vec<_>>()
                .join("; ");
            on_problem(Problem { line: lines[r.index], message });
        }
        summary.add(&report);
        bar.set_message(format!(
            "{} accepted, {} duplicates, {} rejected",
            summary.accepted, summary.duplicates, summary.rejected
        ));
        Ok(())
    };

    // CSV records are one per line (quoted fields may hold commas, not line breaks), so both
    // formats go through the same bounded line reader.
    let csv_record = |text: &str| -> Result<csv::StringRecord, String> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).trim(csv::Trim::All).from_reader(text.as_bytes());
        match rdr.records().next() {
            Some(r) => r.map_err(|e| e.to_string()),
            None => Err("an empty CSV record".into()),
        }
    };
    let mut headers: Option<csv::StringRecord> = None;
    // Accounts: the CSV columns holding custom attribute values.
    let mut attribute_columns: Vec<usize> = Vec::new();
    // A CSV record whose quoted field goes on past a line break: (first line, text so far).
    let mut open_record: Option<(usize, String)> = None;
    let mut number = 0;
    while let Some(line) = lines.next_line().with_context(|| format!("reading line {}", number + 1))? {
        number += 1;
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong => {
                summary.rejected += 1;
                on_problem(Problem {
                    line: number,
                    message: format!("longer than {max_line_bytes} bytes (--max-line-bytes); skipped"),
                });
                if csv_format && headers.is_none() {
                    bail!("line 1, the CSV header, is longer than {max_line_bytes} bytes");
                }
                continue;
            }
            Line::NotUtf8 => {
                summary.rejected += 1;
                on_problem(Problem { line: number, message: "not valid UTF-8".into() });
                continue;
            }
        };
        // A quoted CSV field may hold line breaks: lines are joined while a quote is open
        // (an odd number of `"` so far), within the same byte limit as one line.
        let (line_number, text) = match open_record.take() {
            Some((first, mut record)) => {
                record.push('\n');
                record.push_str(&text);
                (first, record)
            }
            None => (number, text),
        };
        if csv_format && text.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
            if text.len() > max_line_bytes {
                summary.rejected += 1;
                on_problem(Problem {
                    line: line_number,
                    message: format!("a quoted field runs past {max_line_bytes} bytes (--max-line-bytes); skipped"),
                });
            } else {
                open_record = Some((line_number, text));
            }
            continue;
        }
        let number = line_number;
        if text.trim().is_empty() {
            continue;
        }
        let parsed = if csv_format {
            match &headers {
                None => {
                    let h = csv_record(&text).map_err(anyhow::Error::msg).context("reading the CSV header")?;
                    if kind == SignalKind::Accounts {
                        attribute_columns = attribute_columns_of(db, actor, &h).await?;
                    }
                    headers = Some(h);
                    continue;
                }
                Some(h) => csv_record(&text).and_then(|r| {
                    if r.len() != h.len() {
                        Err(format!("has {} fields; the header has {}", r.len(), h.len()))
                    } else if kind == SignalKind::Accounts {
                        account_from_csv(&r, h, &attribute_columns)
                    } else {
                        from_csv(kind, &r, h)
                    }
                }),
            }
        } else {
            from_json(kind, &text)
        };
        match parsed {
            Ok(item) => batch.push((number, item)),
            Err(message) => {
                summary.rejected += 1;
                on_problem(Problem { line: number, message });
            }
        }
        if batch.len() == batch_size {
            flush(&mut batch, &mut summary, &mut on_problem).await?;
        }
    }
    if let Some((first, _)) = open_record {
        summary.rejected += 1;
        on_problem(Problem { line: first, message: "a quoted field is never closed".into() });
    }
    flush(&mut batch, &mut summary, &mut on_problem).await?;
    bar.finish_and_clear();
    Ok(summary)
}

/// The columns of an accounts header that name defined attributes; any other unknown column
/// stops the import before anything is written.
async fn attribute_columns_of(db: &Db, actor: &Actor, headers: &csv::StringRecord) -> anyhow::Result<Vec<usize>> {
    let defined: std::collections::HashSet<String> = bellwether_domain::attributes::list(db, actor.organisation, true)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|d| d.key)
        .collect();
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if ACCOUNT_COLUMNS.contains(&h) {
            continue;
        }
        if !defined.contains(h) {
            bail!(
                "CSV column `{h}` is neither an account field ({}) nor a defined attribute key",
                ACCOUNT_COLUMNS.join(", ")
            );
        }
        columns.push(i);
    }
    Ok(columns)
}

async fn ingest(db: &Db, actor: &Actor, kind: SignalKind, items: Vec<Item>) -> anyhow::Result<BatchReport> {
    macro_rules! only {
        ($variant:ident) => {
            items.into_iter().filter_map(|i| if let Item::$variant(x) = i { Some(x) } else { None }).collect()
        };
    }
    let report = match kind {
        SignalKind::Metrics => metrics::ingest(db, actor, only!(Metric)).await,
        SignalKind::Tickets => tickets::upsert(db, actor, only!(Ticket)).await,
        SignalKind::Invoices => invoices::upsert(db, actor, only!(Invoice)).await,
        SignalKind::Surveys => surveys::record(db, actor, only!(Survey)).await,
        SignalKind::Accounts => accounts::upsert_many(db, actor, only!(Account)).await,
        SignalKind::Contacts => contacts::upsert_many(db, actor, only!(Contact)).await,
        SignalKind::Interactions => interactions::record_many(db, actor, only!(Interaction)).await,
        SignalKind::Assessments => assessments::record_many(db, actor, only!(Assessment)).await,
        SignalKind::Outcomes => accounts::record_outcomes(db, actor, only!(Outcome)).await,
    };
    report.map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_longer_than_the_limit_are_skipped_without_being_held() {
        let mut bytes = format!("short\r\n{}\nafter\n0123456789\r\n", "x".repeat(100)).into_bytes();
        bytes.extend_from_slice(&[0xff, b'\n']);
        bytes.extend_from_slice(b"last");
        // A tiny buffer, so lines span many reads.
        let mut lines = Lines::new(std::io::BufReader::with_capacity(7, &bytes[..]), 10);
        let mut seen = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            seen.push(match l {
                Line::Text(t) => t,
                Line::TooLong => "<too long>".into(),
                Line::NotUtf8 => "<not utf-8>".into(),
            });
            assert!(lines.buf.capacity() <= 16, "a long line was held");
        }
        assert_eq!(seen, ["short", "<too long>", "after", "0123456789", "<not utf-8>", "last"]);
    }

    #[test]
    fn rows_parse_per_kind_and_reject_garbage() {
        assert!(
            from_json(
                SignalKind::Metrics,
                r#"{"account":"A","metric":"m","observedAt":"2026-01-01T00:00:00Z","value":1}"#
            )
            .is_ok()
        );
        assert!(from_json(SignalKind::Tickets, r#"{"account":"A","externalId":"T","priority":"CRITICAL","status":"open","openedAt":"2026-01-01T00:00:00Z"}"#).is_ok());
        for bad in [
            "not json",
            r#"{"account":"A","metric":"m","observedAt":"yesterday","value":1}"#,
            r#"{"account":"A","metric":"m","observedAt":"2026-01-01T00:00:00Z","value":"x"}"#,
            r#"{"account":"A","metric":"m","observedAt":"2026-01-01T00:00:00Z","value":1,"extra":2}"#,
        ] {
            assert!(from_json(SignalKind::Metrics, bad).is_err(), "{bad}");
        }
        assert!(from_json(SignalKind::Tickets, r#"{"account":"A","externalId":"T","priority":"urgent","status":"open","openedAt":"2026-01-01T00:00:00Z"}"#).is_err());
    }
}
