//! Cost of the code checks the server runs: one sign-in verification (±1 step) and the
//! enrollment pair search (±10 steps, worst case: no pair found). `cargo bench -p twostep`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use twostep::factors::totp::{Authenticator, check_pair, check_sign_in, step_at};
use twostep_shared::input::TotpCode;

const NOW: u64 = 1_700_000_000;

fn benches(c: &mut Criterion) {
    let auth = Authenticator::new(b"12345678901234567890").unwrap();
    let step = step_at(NOW);
    let current = TotpCode::parse(&auth.code_at_step(step)).unwrap();
    let previous = TotpCode::parse(&auth.code_at_step(step - 1)).unwrap();
    let wrong = TotpCode::parse(if auth.code_at_step(step) == "000000" {
        "111111"
    } else {
        "000000"
    })
    .unwrap();

    c.bench_function("sign-in code check (±1 step)", |b| {
        b.iter(|| check_sign_in(black_box(&auth), black_box(&current), NOW, step - 5))
    });
    c.bench_function("enrollment pair search, pair found (±10 steps)", |b| {
        b.iter(|| {
            check_pair(
                black_box(&auth),
                black_box(&previous),
                black_box(&current),
                NOW,
            )
        })
    });
    c.bench_function(
        "enrollment pair search, worst case (±10 steps, no match)",
        |b| {
            b.iter(|| {
                check_pair(
                    black_box(&auth),
                    black_box(&wrong),
                    black_box(&current),
                    NOW,
                )
            })
        },
    );
}

criterion_group!(totp, benches);
criterion_main!(totp);
