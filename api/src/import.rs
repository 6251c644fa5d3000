//! `bellwether import`: streams a JSON Lines or CSV file of signals into the organisation in
//! batches, through the same domain ingestion as the GraphQL bulk mutations. Memory stays
//! bounded by one batch: a line is never held beyond `max_line_bytes` (a longer one is skipped
//! to its end and reported with its number). Rerunning a file is a no-op (every item has an
//! idempotency key). `-` reads standard input.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};
use bellwether_domain::signals::invoices::{self, InvoiceInput};
use bellwether_domain::signals::metrics::{self, NewMetricPoint};
use bellwether_domain::signals::surveys::{self, SurveyInput};
use bellwether_domain::signals::tickets::{self, TicketInput};
use bellwether_domain::signals::{AccountRef, BatchReport, ItemStatus};
use bellwether_domain::{Actor, Db, InvoiceStatus, SurveyKind, TicketPriority, TicketStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// Which signal the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SignalKind {
    Metrics,
    Tickets,
    Invoices,
    Surveys,
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

/// One parsed line, ready for its batch.
enum Item {
    Metric(NewMetricPoint),
    Ticket(TicketInput),
    Invoice(InvoiceInput),
    Survey(SurveyInput),
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
}

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
                    headers = Some(csv_record(&text).map_err(anyhow::Error::msg).context("reading the CSV header")?);
                    continue;
                }
                Some(h) => csv_record(&text).and_then(|r| {
                    if r.len() == h.len() {
                        from_csv(kind, &r, h)
                    } else {
                        Err(format!("has {} fields; the header has {}", r.len(), h.len()))
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
