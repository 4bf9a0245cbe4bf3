//! With PostgreSQL unreachable the API answers 503 with a JSON error within the pool's wait
//! plus a margin (no hang, no panic), and it recovers by itself when the database is back.
//! The outage is made by a TCP proxy between the server and PostgreSQL that the test closes
//! (connections refused) or turns into a black hole (connections accepted, never answered),
//! then reopens.

use crate::client::{browser, get};
use crate::process::{ServerProcess, create_user};
use crate::several::fresh_database;
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards connections from a local port to PostgreSQL until stopped.
struct Proxy {
    addr: SocketAddr,
    target: String,
    accept: Option<JoinHandle<()>>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Self {
            addr,
            target,
            accept: None,
            connections: Default::default(),
        };
        proxy.listen(listener);
        proxy
    }

    fn listen(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        let connections = self.connections.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(task);
            }
        }));
    }

    /// The database "goes away": no new connections, and open ones are cut.
    fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The database hangs: open connections are cut, and new ones are accepted but never
    /// answered (a server that stopped responding, or a network that drops packets).
    async fn hang(&mut self) {
        self.stop();
        let listener = self.bind_again().await;
        self.accept = Some(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((inbound, _)) = listener.accept().await {
                held.push(inbound);
            }
        }));
    }

    /// The database is back on the same address.
    async fn restart(&mut self) {
        self.stop();
        let listener = self.bind_again().await;
        self.listen(listener);
    }

    /// The proxy's address again, once the stopped listener has let go of it.
    async fn bind_again(&self) -> TcpListener {
        for _ in 0..200 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                return listener;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} stayed in use", self.addr);
    }
}

/// The pool waits this long for a connection before the request is answered 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// Time allowed beyond the pool's wait (a slow machine, the answer's way back).
const MARGIN: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_answers_503_and_recovers() {
    let (url, _pool) = fresh_database().await;
    let (prefix, rest) = url.split_once('@').expect("user@host in the URL");
    let (host_port, database) = rest.split_once('/').expect("a database in the URL");
    let mut proxy = Proxy::start(host_port.to_owned()).await;
    let proxied = format!("{prefix}@{}/{database}", proxy.addr);
    let data = tempfile::tempdir().unwrap();
    let envs = [("DATABASE_URL", proxied.as_str())];
    create_user(
        data.path(),
        &envs,
        "admin",
        "administrator password",
        &["--admin"],
    );
    let server = ServerProcess::start(data.path(), &envs, &[]).await;
    let client = browser();
    let (status, _) = crate::client::post(
        &client,
        server.url("/api/session"),
        serde_json::json!({ "username": "admin", "password": "administrator password" }),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::OK);

    for outage in ["refused", "hanging"] {
        match outage {
            "refused" => proxy.stop(),
            _ => proxy.hang().await,
        }
        for path in ["/api/me", "/api/health"] {
            let started = Instant::now();
            let (status, body) = get(&client, server.url(path))
                .await
                .expect("an answer, not a hang");
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{outage} {path}: {body}"
            );
            assert_eq!(body["code"], "unavailable");
            let took = started.elapsed();
            assert!(
                took < POOL_WAIT + MARGIN,
                "{outage} {path} answered after {took:?}"
            );
        }

        proxy.restart().await;
        let started = Instant::now();
        loop {
            let (status, body) = get(&client, server.url("/api/me")).await.unwrap();
            if status == StatusCode::OK {
                assert_eq!(body["username"], "admin", "the session survived the outage");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "did not recover from the {outage} outage: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
