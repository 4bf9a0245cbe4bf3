//! The break-glass commands of the real `twostep` binary (`twostep user …`) on a data
//! folder, checked through the database and, where a device is involved, through the API of
//! a server on the same folder.

use crate::helpers::{TestApp, client, expect_error, spawn_app_on};
use reqwest::StatusCode;
use sqlx::{AnyPool, Row};
use std::path::Path;
use std::process::{Output, Stdio};
use tokio::io::AsyncWriteExt;
use twostep::storage::seal::SealKey;
use twostep_shared::ErrorCode;
use twostep_shared::api::{AuditEventKind, SignInResponse};

/// Runs `twostep --data-dir DIR ARGS…` with `stdin` as its standard input.
pub(crate) async fn twostep(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("TWOSTEP_DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("TWOSTEP_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the twostep binary");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    child.wait_with_output().await.expect("twostep ran")
}

/// Asserts the command succeeded and its standard output contains `expected`.
pub(crate) fn succeeded(output: &Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout {stdout}\nstderr {stderr}");
    assert!(
        stdout.contains(expected),
        "stdout {stdout}\nstderr {stderr}"
    );
}

/// Asserts the command failed with exit code 1 and its standard error contains `expected`.
fn failed(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr {stderr}");
    assert!(stderr.contains(expected), "stderr {stderr}");
}

async fn open(data_dir: &Path) -> AnyPool {
    let url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("twostep.db").display()
    );
    twostep::storage::db::connect(&url)
        .await
        .expect("open the CLI's database")
}

/// (event, actor, subject, subject id, client address, detail) of every event, oldest first.
type Recorded = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

async fn recorded(db: &AnyPool) -> Vec<Recorded> {
    sqlx::query_as(
        "SELECT event, actor_name, subject_name, subject_id, client_addr, detail
         FROM audit_events ORDER BY id",
    )
    .fetch_all(db)
    .await
    .expect("read the audit log")
}

#[tokio::test]
async fn user_commands_create_accounts_make_administrators_and_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();

    succeeded(
        &twostep(
            data,
            &["user", "create", "x", "--password"],
            "x's password\n",
        )
        .await,
        "created user x",
    );
    failed(
        &twostep(
            data,
            &["user", "create", "x", "--password"],
            "another password\n",
        )
        .await,
        "already exists",
    );
    failed(
        &twostep(data, &["user", "create", "y", "--password"], "short\n").await,
        "at least 8",
    );
    succeeded(
        &twostep(
            data,
            &[
                "user",
                "create",
                "carol",
                "--organizational",
                "Contoso",
                "--subject",
                "248289761001",
            ],
            "",
        )
        .await,
        "created user carol",
    );
    succeeded(
        &twostep(data, &["user", "set-admin", "x"], "").await,
        "x is now an Administrator",
    );
    failed(
        &twostep(data, &["user", "set-admin", "nobody"], "").await,
        "no user named nobody",
    );
    // Nothing to remove or unlock without a device; and there is no command to set one up.
    failed(
        &twostep(data, &["user", "remove-two-step", "x"], "").await,
        "no 2-step verification device",
    );
    failed(
        &twostep(data, &["user", "unlock", "x"], "").await,
        "no 2-step verification device",
    );
    let help = twostep(data, &["user", "--help"], "").await;
    let help = String::from_utf8_lossy(&help.stdout).to_lowercase();
    assert!(help.contains("remove-two-step"), "{help}");
    assert!(
        !help.contains("enroll") && !help.contains("setup"),
        "{help}"
    );

    let db = open(data).await;
    let users: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT username, role, password_hash, identity_provider FROM users ORDER BY username",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    let (name, role, hash, idp) = &users[0];
    assert_eq!((name.as_str(), role.as_str()), ("carol", "user"));
    assert_eq!((hash, idp.as_deref()), (&None, Some("Contoso")));
    let (name, role, hash, idp) = &users[1];
    assert_eq!((name.as_str(), role.as_str()), ("x", "administrator"));
    let hash = hash.as_deref().expect("a password hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("password"));
    assert_eq!(idp, &None);
    let x_id: i64 = sqlx::query("SELECT id FROM users WHERE username = 'x'")
        .fetch_one(&db)
        .await
        .unwrap()
        .get("id");

    // Only what succeeded and changes a role is recorded, by "cli", from no address.
    assert_eq!(
        recorded(&db).await,
        [(
            "made_administrator".to_owned(),
            Some("cli".to_owned()),
            Some("x".to_owned()),
            Some(x_id),
            None,
            None
        )]
    );

    // The server key was created beside the database, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secret.key"))
            .expect("the key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[tokio::test]
async fn the_cli_unlocks_and_removes_a_device_and_ends_the_sessions() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    succeeded(
        &twostep(
            data,
            &["user", "create", "alice", "--password"],
            "alice password\n",
        )
        .await,
        "created user alice",
    );
    succeeded(
        &twostep(
            data,
            &["user", "create", "root", "--admin", "--password"],
            "root password\n",
        )
        .await,
        "created user root",
    );
    // A server on the same folder (and so the same key) for the browser's side.
    let seal = SealKey::load(None, data).expect("the key file the CLI created");
    let app: TestApp = spawn_app_on(data.join("twostep.db"), seal).await;
    let alice_client = client();
    app.sign_in(&alice_client, "alice", "alice password").await;
    let enrolled = app.setup_and_confirm(&alice_client).await;
    let alice = app.user_id("alice").await;
    assert_eq!(enrolled.recovery_codes.len(), 10);

    sqlx::query("UPDATE two_step_devices SET locked = 1, failed_attempts = 100 WHERE user_id = $1")
        .bind(alice)
        .execute(&app.db)
        .await
        .unwrap();
    succeeded(
        &twostep(data, &["user", "unlock", "alice"], "").await,
        "unlocked the code step of alice",
    );
    assert!(!app.me(&alice_client).await.two_step.expect("status").locked);

    succeeded(
        &twostep(data, &["user", "remove-two-step", "alice"], "").await,
        "removed the 2-step verification device of alice",
    );
    expect_error(
        app.get(&alice_client, "/api/me").await,
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
    )
    .await;
    assert_eq!(app.count_for("two_step_devices", alice).await, 0);
    assert_eq!(app.count_for("recovery_codes", alice).await, 0);
    assert_eq!(app.count_for("sessions", alice).await, 0);
    assert!(matches!(
        app.sign_in(&client(), "alice", "alice password").await,
        SignInResponse::SignedIn { .. }
    ));

    // What the administrator sees in the audit log.
    let root = client();
    app.sign_in(&root, "root", "root password").await;
    let by_cli: Vec<_> = app
        .audit_log(&root, Some(alice))
        .await
        .into_iter()
        .filter(|e| e.actor.as_deref() == Some("cli"))
        .map(|e| (e.event, e.subject, e.client_address, e.detail))
        .collect();
    assert_eq!(
        by_cli,
        [
            (
                AuditEventKind::CodeStepUnlocked,
                Some("alice".to_owned()),
                None,
                None
            ),
            (
                AuditEventKind::DeviceRemoved,
                Some("alice".to_owned()),
                None,
                Some("removed with the server CLI".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn organizational_accounts_are_linked_to_an_identity_from_the_cli() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    let create = |name: &'static str, extra: &'static [&'static str]| {
        let mut args = vec!["user", "create", name];
        args.extend_from_slice(extra);
        async move { twostep(data, &args, "").await }
    };

    // An organizational account needs a link; a link needs an organizational account.
    failed(
        &create("dana", &["--organizational", "Contoso"]).await,
        "--subject SUB",
    );
    failed(
        &create("dana", &["--subject", "1"]).await,
        "--organizational",
    );
    failed(
        &create("dana", &["--organizational", "Contoso", "--email", "dana"]).await,
        "not an e-mail address",
    );
    succeeded(
        &create(
            "carol",
            &[
                "--organizational",
                "Contoso",
                "--email",
                "Carol@Contoso.Example",
            ],
        )
        .await,
        "created user carol",
    );
    // One identity, one account (per provider).
    failed(
        &create(
            "dave",
            &[
                "--organizational",
                "Contoso",
                "--email",
                "carol@contoso.example",
            ],
        )
        .await,
        "already linked",
    );
    succeeded(
        &create(
            "dave",
            &[
                "--organizational",
                "Fabrikam",
                "--email",
                "carol@contoso.example",
            ],
        )
        .await,
        "created user dave",
    );
    // With the providers file at hand, the provider must be one of its names.
    let file = data.join("providers.toml");
    std::fs::write(
        &file,
        "[[provider]]\nname = \"Contoso\"\nissuer = \"https://login.contoso.example\"\nclient_id = \"c\"\nclient_secret_env = \"UNSET_IN_THIS_TEST\"\n",
    )
    .unwrap();
    let with_file = |args: &[&str]| {
        let mut all = vec!["--identity-providers", file.to_str().unwrap()];
        all.extend_from_slice(args);
        all.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let args = with_file(&[
        "user",
        "create",
        "erin",
        "--organizational",
        "Contoso ID",
        "--subject",
        "7",
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    failed(
        &twostep(data, &args, "").await,
        "no identity provider named \"Contoso ID\"",
    );

    // Linking again replaces the link, and is audited.
    let args = with_file(&["user", "link", "carol", "--subject", "248289761001"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    succeeded(
        &twostep(data, &args, "").await,
        "carol is linked to subject 248289761001 at Contoso",
    );
    failed(
        &twostep(data, &["user", "link", "carol"], "").await,
        "--subject SUB",
    );
    // The provider does not link by e-mail unless its entry says so.
    let args = with_file(&["user", "link", "carol", "--email", "carol@contoso.example"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    failed(
        &twostep(data, &args, "").await,
        "does not link accounts by e-mail",
    );
    succeeded(
        &twostep(
            data,
            &["user", "create", "x", "--password"],
            "x's password\n",
        )
        .await,
        "created user x",
    );
    failed(
        &twostep(data, &["user", "link", "x", "--subject", "1"], "").await,
        "Team Server account",
    );

    let db = open(data).await;
    let links: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT username, idp_subject, idp_email FROM users ORDER BY username")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        links,
        [
            ("carol".to_owned(), Some("248289761001".to_owned()), None),
            (
                "dave".to_owned(),
                None,
                Some("carol@contoso.example".to_owned())
            ),
            ("x".to_owned(), None, None),
        ]
    );
    let events: Vec<_> = recorded(&db)
        .await
        .into_iter()
        .map(|(event, actor, subject, _, _, detail)| (event, actor, subject, detail))
        .collect();
    assert_eq!(
        events,
        [(
            "identity_linked".to_owned(),
            Some("cli".to_owned()),
            Some("carol".to_owned()),
            Some(
                "subject 248289761001 at Contoso (issuer https://login.contoso.example); 0 session(s) ended"
                    .to_owned()
            )
        )]
    );
    let issuer: Option<String> =
        sqlx::query_scalar("SELECT idp_issuer FROM users WHERE username = 'carol'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(issuer.as_deref(), Some("https://login.contoso.example"));

    // The provider moves to another issuer under the same name: the operator confirms it.
    std::fs::write(
        &file,
        "[[provider]]\nname = \"Contoso\"\nissuer = \"https://id.contoso.example\"\nclient_id = \"c\"\n",
    )
    .unwrap();
    failed(
        &twostep(data, &["user", "confirm-issuer", "Contoso"], "").await,
        "--identity-providers",
    );
    let args = with_file(&["user", "confirm-issuer", "Contoso"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    succeeded(
        &twostep(data, &args, "").await,
        "Contoso: 1 account(s) now follow issuer https://id.contoso.example",
    );
    let issuer: Option<String> =
        sqlx::query_scalar("SELECT idp_issuer FROM users WHERE username = 'carol'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(issuer.as_deref(), Some("https://id.contoso.example"));
}

#[tokio::test]
async fn set_password_ends_the_sessions_and_remove_admin_keeps_one_administrator() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    for name in ["ann", "ben"] {
        succeeded(
            &twostep(
                data,
                &["user", "create", name, "--admin", "--password"],
                "a fine passphrase\n",
            )
            .await,
            "created user",
        );
    }
    succeeded(
        &twostep(
            data,
            &["user", "create", "cat", "--password"],
            "a fine passphrase\n",
        )
        .await,
        "created user cat",
    );
    let db = open(data).await;
    let ann = twostep::accounts::users::find_by_name(&db, "ann")
        .await
        .unwrap()
        .unwrap();
    for _ in 0..2 {
        twostep::sessions::create(
            &db,
            ann.id,
            twostep::sessions::Stage::SignedIn,
            &Default::default(),
            1_700_000_000,
        )
        .await
        .unwrap();
    }

    // set-password: the same rules as a new account, then every session of ann ends.
    failed(
        &twostep(
            data,
            &["user", "set-password", "ann", "--password"],
            "password1\n",
        )
        .await,
        "most common passwords",
    );
    succeeded(
        &twostep(
            data,
            &["user", "set-password", "ann", "--password"],
            "another fine phrase\n",
        )
        .await,
        "2 session(s) ended",
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(ann.id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);

    // remove-admin: ben becomes a User; ann, then the last administrator, keeps the role.
    failed(
        &twostep(data, &["user", "remove-admin", "cat"], "").await,
        "cat is not an Administrator",
    );
    succeeded(
        &twostep(data, &["user", "remove-admin", "ben"], "").await,
        "ben is now a User",
    );
    failed(
        &twostep(data, &["user", "remove-admin", "ann"], "").await,
        "ann is the last Administrator",
    );
    let ann = twostep::accounts::users::find_by_name(&db, "ann")
        .await
        .unwrap()
        .unwrap();
    assert!(ann.is_admin());

    let events: Vec<(String, Option<String>, Option<String>)> = recorded(&db)
        .await
        .into_iter()
        .map(|(event, actor, subject, ..)| (event, actor, subject))
        .filter(|(event, ..)| event == "password_changed" || event == "administrator_role_removed")
        .collect();
    let cli = Some("cli".to_owned());
    assert_eq!(
        events,
        [
            (
                "password_changed".to_owned(),
                cli.clone(),
                Some("ann".to_owned())
            ),
            (
                "administrator_role_removed".to_owned(),
                cli,
                Some("ben".to_owned())
            ),
        ]
    );
    // Each of those told running servers: the revocation counter beside the database moved.
    let counter = std::fs::read(data.join("twostep.db.revocations")).unwrap();
    let count = u64::from_ne_bytes(counter[..8].try_into().unwrap());
    assert!(count >= 2, "{count}");
}

/// The number of accounts in the CLI's database.
async fn accounts(data: &Path) -> i64 {
    let db = open(data).await;
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    n
}

#[tokio::test]
async fn import_creates_every_account_of_a_csv_or_none_and_names_the_bad_line() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path().join("data");
    let data = data.as_path();
    succeeded(
        &twostep(
            data,
            &["user", "create", "x", "--password"],
            "x's password\n",
        )
        .await,
        "created user x",
    );
    let file = dir.path().join("accounts.csv");
    let file_arg = file.to_str().unwrap();

    // A bad line anywhere: a clear error naming it, and nothing imported (dry run or not).
    for (text, expected) in [
        (
            "name,role\nalice,user\nbob,user\nAlice,administrator\n",
            "line 4: the name alice is also on line 2",
        ),
        (
            "alice,user\nbob,boss\n",
            "line 2: the role \"boss\" is not user or administrator",
        ),
        (
            "alice,user\n\nal ice,user\n",
            "line 3: the name \"al ice\" is refused",
        ),
        (
            "alice,user\nx,administrator\n",
            "line 2: a user named x already exists",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        for dry_run in [false, true] {
            let mut args = vec!["user", "import", file_arg];
            if dry_run {
                args.push("--dry-run");
            }
            let output = twostep(data, &args, "").await;
            failed(&output, expected);
            failed(&output, "nothing");
            assert_eq!(accounts(data).await, 1, "{text:?}, dry run {dry_run}");
        }
    }

    // A dry run lists what it would do, and does nothing.
    std::fs::write(
        &file,
        "name,role,provider,email\nalice,user\nbob,administrator\nerin,user,Contoso,Erin@Example.com\n",
    )
    .unwrap();
    let output = twostep(data, &["user", "import", file_arg, "--dry-run"], "").await;
    succeeded(&output, "would create alice (User, Team Server account");
    succeeded(
        &output,
        "would create erin (User, organizational account of Contoso)",
    );
    succeeded(&output, "3 account(s) would be created");
    assert_eq!(accounts(data).await, 1);

    // The import: every account, each Team Server account with its one-time password.
    let output = twostep(data, &["user", "import", file_arg], "").await;
    succeeded(&output, "3 account(s) created");
    assert_eq!(accounts(data).await, 4);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let one_time = stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("created alice (User, Team Server account, one-time password): ")
        })
        .expect("alice's one-time password")
        .to_owned();
    let db = open(data).await;
    let events: Vec<_> = recorded(&db)
        .await
        .into_iter()
        .filter(|e| e.0 == AuditEventKind::AccountCreated.as_str())
        .map(|e| (e.1, e.2, e.5))
        .collect();
    assert_eq!(
        events,
        [
            (
                Some("cli".into()),
                Some("alice".into()),
                Some("user with a one-time password".into())
            ),
            (
                Some("cli".into()),
                Some("bob".into()),
                Some("administrator with a one-time password".into())
            ),
            (
                Some("cli".into()),
                Some("erin".into()),
                Some("user, organizational account of Contoso".into())
            ),
        ]
    );
    db.close().await;

    // alice signs in with it, and must choose a new password before anything else.
    let seal = SealKey::load(None, data).expect("the key file the CLI created");
    let app: TestApp = spawn_app_on(data.join("twostep.db"), seal).await;
    let alice = client();
    match app.sign_in(&alice, "alice", &one_time).await {
        SignInResponse::SignedIn { user } => assert!(user.password_change_required),
        other => panic!("{other:?}"),
    }
    expect_error(
        app.get(&alice, "/api/users").await,
        StatusCode::FORBIDDEN,
        ErrorCode::PasswordChangeRequired,
    )
    .await;
}

/// The one-time password in a command's output (`…password…: xxxx-xxxx-xxxx-xxxx …`).
fn one_time_password(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let at = stdout.find("password").expect("a password") + "password".len();
    let rest = &stdout[at..];
    let start = rest.find(": ").expect("a colon") + 2;
    rest[start..start + 19].to_owned()
}

/// Without `--password`, `create` and `set-password` give a one-time password, printed once,
/// that its holder must change before anything else (like Add user and Reset password in the
/// app); with it, the password read is the holder's own.
#[tokio::test]
async fn create_and_set_password_give_a_one_time_password_unless_one_is_read() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();
    let made = twostep(data, &["user", "create", "dora"], "").await;
    succeeded(&made, "created user dora");
    let first = one_time_password(&made);
    let seal = SealKey::load(None, data).expect("the key file the CLI created");
    let app: TestApp = spawn_app_on(data.join("twostep.db"), seal).await;
    let must_change = async |password: &str| -> bool {
        match app.sign_in(&client(), "dora", password).await {
            SignInResponse::SignedIn { user } => user.password_change_required,
            other => panic!("expected signed_in, got {other:?}"),
        }
    };
    assert!(must_change(&first).await);

    let reset = twostep(data, &["user", "set-password", "dora"], "").await;
    succeeded(&reset, "one-time password for dora");
    let second = one_time_password(&reset);
    assert_ne!(first, second);
    assert!(must_change(&second).await);
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'password_changed' ORDER BY id DESC",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(detail.contains("(a one-time password)"), "{detail}");

    succeeded(
        &twostep(
            data,
            &["user", "set-password", "dora", "--password"],
            "dora's own phrase\n",
        )
        .await,
        "password set for dora",
    );
    assert!(!must_change("dora's own phrase").await);
    // The operator's typed password is not one-time either at creation.
    succeeded(
        &twostep(
            data,
            &["user", "create", "erik", "--password"],
            "erik's own phrase\n",
        )
        .await,
        "created user erik",
    );
    match app.sign_in(&client(), "erik", "erik's own phrase").await {
        SignInResponse::SignedIn { user } => assert!(!user.password_change_required),
        other => panic!("expected signed_in, got {other:?}"),
    }
}
