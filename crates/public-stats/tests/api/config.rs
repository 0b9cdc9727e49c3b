//! Invalid configuration stops the service before it binds, naming the setting.

use std::process::Command;

fn run(env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_public-stats"));
    command.env_clear().args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// sysexits.h EX_USAGE: what every configuration error exits with.
const EX_USAGE: i32 = 64;

#[test]
fn a_secret_without_an_id_exits_64_naming_the_setting() {
    let (code, stderr) = run(&[("PURECLOUD_CLIENT_SECRET", "s"), ("PORT", "0")], &[]);
    assert_eq!(code, EX_USAGE, "{stderr}");
    assert!(stderr.contains("PURECLOUD_CLIENT_ID"), "{stderr}");
}

#[test]
fn a_malformed_queue_id_exits_64_naming_the_variable_and_the_value() {
    let (code, stderr) = run(
        &[("PURECLOUD_MONITORED_QUEUES", "not-a-uuid"), ("PORT", "0")],
        &[],
    );
    assert_eq!(code, EX_USAGE, "{stderr}");
    assert!(stderr.contains("PURECLOUD_MONITORED_QUEUES"), "{stderr}");
    assert!(stderr.contains("not-a-uuid"), "{stderr}");
}

#[test]
fn a_bad_port_exits_64_naming_the_variable() {
    for port in ["99999", "eighty"] {
        let (code, stderr) = run(&[("PORT", port)], &[]);
        assert_eq!(code, EX_USAGE, "{stderr}");
        assert!(stderr.contains("PORT"), "{stderr}");
    }
}

#[test]
fn a_bad_allowed_origin_exits_64_naming_the_variable() {
    let (code, stderr) = run(&[("ALLOWED_ORIGINS", "https://shop.example/checkout")], &[]);
    assert_eq!(code, EX_USAGE, "{stderr}");
    assert!(stderr.contains("ALLOWED_ORIGINS"), "{stderr}");
}

#[test]
fn a_monitored_queue_the_org_does_not_have_stops_the_service() {
    // In sandbox mode the org is the demo org; this queue is not in it.
    let (code, stderr) = run(
        &[
            (
                "PURECLOUD_MONITORED_QUEUES",
                "00000000-0000-4000-8000-000000000001",
            ),
            ("PORT", "0"),
            ("BIND_ADDRESS", "127.0.0.1"),
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("00000000-0000-4000-8000-000000000001"),
        "{stderr}"
    );
    assert!(stderr.contains("PURECLOUD_MONITORED_QUEUES"), "{stderr}");
}

#[test]
fn a_schedule_or_emergency_group_the_org_does_not_have_stops_the_service() {
    // In sandbox mode the org is the demo org, which has neither group.
    let unknown = "00000000-0000-4000-8000-0000000000aa";
    for setting in ["PURECLOUD_SCHEDULE_GROUPS", "PURECLOUD_EMERGENCY_GROUPS"] {
        let (code, stderr) = run(
            &[
                (setting, unknown),
                ("PORT", "0"),
                ("BIND_ADDRESS", "127.0.0.1"),
                ("ADMIN_BIND_ADDRESS", "127.0.0.1:0"),
            ],
            &[],
        );
        assert_ne!(code, 0, "{setting}: {stderr}");
        assert!(stderr.contains(setting), "{stderr}");
        assert!(stderr.contains(unknown), "{stderr}");
        assert!(stderr.contains("does not have"), "{stderr}");
    }
}

#[test]
fn hours_settings_are_checked_by_name() {
    for (env, named) in [
        (("HOURS_REFRESH_SECONDS", "0"), "HOURS_REFRESH_SECONDS"),
        (
            ("PURECLOUD_SCHEDULE_GROUPS", "tuesdays"),
            "PURECLOUD_SCHEDULE_GROUPS",
        ),
        (
            (
                "PURECLOUD_EMERGENCY_GROUPS",
                "00000000-0000-4000-8000-000000000001=80deb3e8-d1af-4dce-8e7f-d2e29f837108",
            ),
            "PURECLOUD_EMERGENCY_GROUPS",
        ),
    ] {
        let (code, stderr) = run(&[env, ("PORT", "0")], &[]);
        assert_eq!(code, EX_USAGE, "{env:?}: {stderr}");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
}

#[test]
fn help_describes_every_setting_and_exits_0() {
    let output = Command::new(env!("CARGO_BIN_EXE_public-stats"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in [
        "PURECLOUD_CLIENT_ID",
        "PURECLOUD_CLIENT_SECRET",
        "PURECLOUD_MONITORED_QUEUES",
        "PURECLOUD_ENVIRONMENT",
        "PURECLOUD_BASE_URL",
        "PORT",
        "BIND_ADDRESS",
        "CACHE_SECONDS",
        "ALLOWED_ORIGINS",
        "WEB_MESSAGING_DEPLOYMENT_ID",
        "PURECLOUD_SCHEDULE_GROUPS",
        "PURECLOUD_EMERGENCY_GROUPS",
        "HOURS_REFRESH_SECONDS",
    ] {
        assert!(help.contains(setting), "--help does not mention {setting}");
    }
}

#[test]
fn with_no_credentials_the_banner_says_sandbox_mode_and_how_to_connect_a_real_org() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_public-stats"))
        .env_clear()
        .env("PORT", "0")
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout is piped");
    // Lines arrive through a channel so that waiting for them is bounded.
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut banner = String::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(line) = received.recv_timeout(left) else {
            break;
        };
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("see --help") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(banner.contains("SANDBOX MODE"), "{banner}");
    for setting in [
        "PURECLOUD_CLIENT_ID",
        "PURECLOUD_CLIENT_SECRET",
        "PURECLOUD_MONITORED_QUEUES",
    ] {
        assert!(
            banner.contains(setting),
            "the banner does not say how to set {setting}:\n{banner}"
        );
    }
}
