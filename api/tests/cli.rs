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
    let res = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": "{ organisation { slug } accounts { totalCount } users { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn serve_demo_is_ready_to_explore_and_idempotent() {
    let sandbox = Sandbox::new();
    let (mut child, url, token, printed) = serve_demo(&sandbox);
    assert!(printed.contains("loaded"), "{printed}");
    let first = account_count(&url, &token).await;
    assert_eq!(first["organisation"]["slug"], "demo");
    assert_eq!(first["accounts"]["totalCount"], 12);
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

    let schema = sandbox.run(&["schema"]);
    assert!(schema.contains("type Query"));
}
