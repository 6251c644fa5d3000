//! A rule that tries to read a file: its component imports `wasi:filesystem`, which the host
//! refuses at upload.

use bellwether_rule::*;

pub struct ReadsFiles;

impl Rule for ReadsFiles {
    fn metadata() -> Metadata {
        Metadata {
            key: "reads_files".into(),
            name: "Reads files".into(),
            category: Category::Operational,
            description: "Reads /etc/passwd.".into(),
            inputs: vec![],
            metrics: vec![],
            lookback_days: 1,
            params: vec![],
            auto_resolve: true,
        }
    }

    fn evaluate(_: &Snapshot, _: &Params) -> Result<Evaluation, RuleError> {
        let found = std::fs::read_to_string("/etc/passwd").map(|s| s.len()).unwrap_or(0);
        Ok(Evaluation { findings: vec![], observations: vec![number("bytes", found as f64)] })
    }
}

export_rule!(ReadsFiles);
