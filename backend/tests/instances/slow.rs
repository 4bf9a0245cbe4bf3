//! Slow or oversized clients: a connection that does not finish its headers in time is cut
//! off, and an oversized header block is refused, while other clients are served.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_huge_headers_refused() {
    let (_data, server) = crate::client::start_single(&["--header-read-timeout", "1"]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    // Half a request, then silence.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: twostep\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the server closed the slow connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off after about a second"
    );

    // 100 KiB of headers: refused (431 or closed), never served.
    let mut huge = TcpStream::connect(&addr).await.unwrap();
    let filler = "x".repeat(100 * 1024);
    let request =
        format!("GET /api/health HTTP/1.1\r\nHost: twostep\r\nX-Filler: {filler}\r\n\r\n");
    let _ = huge.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), huge.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the connection was neither answered nor closed"
    );
    let answer = String::from_utf8_lossy(&answer);
    // Refused as too large (431), or the connection closed (an error reading or writing, or
    // the end of the stream) without any other answer: a 500 or a 200 fails.
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "an oversized header block got another answer: {answer}"
    );

    // Meanwhile a normal client is served.
    let health = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(health.status(), reqwest::StatusCode::OK);
}
