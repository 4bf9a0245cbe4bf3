//! For `cargo xtask bench`: a signed-in request to instance B right after the session was
//! ended on instance A (two `twostep serve` processes sharing one PostgreSQL database), many
//! times; every answer must be 401.
//!
//! `cargo run --release -p twostep --example ended_elsewhere -- A_URL B_URL USERNAME PASSWORD
//! ROUNDS` signs in on A, asks B for `GET /api/me` twice (so B has read, and if its cache is
//! on cached, the session), signs out on A, and at once asks B again; ROUNDS times. It prints
//! `ended_elsewhere rounds=N refused=R served=S other=O`: R answers 401, S answers 200 (a
//! session B should have refused), O anything else.

use std::collections::BTreeMap;

async fn status(request: reqwest::RequestBuilder) -> Result<u16, String> {
    request
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b, username, password, rounds] = args.as_slice() else {
        return Err("usage: ended_elsewhere A_URL B_URL USERNAME PASSWORD ROUNDS".to_owned());
    };
    let rounds: u32 = rounds.parse().map_err(|_| "ROUNDS is a number")?;
    let body = serde_json::json!({"username": username, "password": password});
    let mut answers: BTreeMap<u16, u32> = BTreeMap::new();
    let client = reqwest::Client::new();
    for round in 0..rounds {
        let signed_in = client
            .post(format!("{a}/api/session"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // The cookie is sent by hand: the sign-out's answer clears it in a browser, and the
        // point is what B does with the ended session's cookie.
        let cookie = signed_in
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("twostep_session="))
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| format!("round {round}: sign-in on A set no session cookie"))?;
        if signed_in.status() != 200 {
            return Err(format!(
                "round {round}: sign-in on A answered {}",
                signed_in.status()
            ));
        }
        let me = || client.get(format!("{b}/api/me")).header("cookie", &cookie);
        for _ in 0..2 {
            let seen = status(me()).await?;
            if seen != 200 {
                return Err(format!(
                    "round {round}: B answered {seen} before the sign-out"
                ));
            }
        }
        let ended = status(
            client
                .delete(format!("{a}/api/session"))
                .header("cookie", &cookie)
                .json(&serde_json::json!({})),
        )
        .await?;
        if ended != 204 {
            return Err(format!("round {round}: sign-out on A answered {ended}"));
        }
        let after = status(me()).await?;
        *answers.entry(after).or_default() += 1;
    }
    let refused = answers.get(&401).copied().unwrap_or(0);
    let served = answers.get(&200).copied().unwrap_or(0);
    println!(
        "ended_elsewhere rounds={rounds} refused={refused} served={served} other={}",
        rounds - refused - served
    );
    Ok(())
}
