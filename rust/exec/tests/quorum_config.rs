//! `aisexec -t` with a `quorum` section: the rules in force are reported,
//! and rules that cannot work stop the check (and a start) with the file
//! and the reason.

mod common;

use common::*;

fn udpu(quorum: &str) -> String {
    format!(
        "totem {{\n version: 2\n secauth: off\n nodeid: 3\n transport: udpu\n interface {{\n  ringnumber: 0\n  bindnetaddr: 127.0.0.1\n  \
         mcastport: 16717\n  member {{\n   memberaddr: 127.0.0.1\n  }}\n  member {{\n   memberaddr: 127.0.0.2\n  }}\n  \
         member {{\n   memberaddr: 127.0.0.3\n  }}\n }}\n}}\n{quorum}{QUIET}"
    )
}

#[test]
fn the_check_reports_the_quorum_rules_and_refuses_unusable_ones() {
    let dir = TempDir::new("quorum-check");
    let check = |text: &str| {
        dir.config(text);
        let out = command(&dir, &["-t"]).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Expected votes default to the member list's.
    let (code, out, err) = check(&udpu("quorum {\n provider: corosync_votequorum\n}\n"));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\nquorum: corosync_votequorum, 3 expected votes\n"), "{out}");
    let (code, out, _) =
        check(&udpu("quorum {\n provider: corosync_votequorum\n expected_votes: 2\n two_node: 1\n}\n"));
    assert_eq!(code, Some(0));
    assert!(out.contains("quorum: corosync_votequorum, 2 expected votes, two_node, wait_for_all\n"), "{out}");
    // A member's quorum_votes count in the default expected votes.
    let weighted = udpu("quorum {\n provider: corosync_votequorum\n}\n").replacen(
        "memberaddr: 127.0.0.2\n",
        "memberaddr: 127.0.0.2\n   quorum_votes: 3\n",
        1,
    );
    let (code, out, err) = check(&weighted);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\nquorum: corosync_votequorum, 5 expected votes\n"), "{out}");
    let (code, _, err) = check(&weighted.replace("quorum_votes: 3", "quorum_votes: 0"));
    assert_eq!(code, Some(1));
    assert!(err.contains("quorum_votes"), "{err}");
    // No member list to count and no expected_votes.
    let (code, _, err) = check(&format!(
        "totem {{\n version: 2\n secauth: off\n interface {{\n  ringnumber: 0\n  bindnetaddr: 127.0.0.0\n  mcastaddr: 239.192.77.13\n }}\n}}\n\
         quorum {{\n provider: corosync_votequorum\n}}\n{QUIET}"
    ));
    assert_eq!(code, Some(1));
    assert!(err.contains("quorum: quorum needs expected_votes (or a member list to count)"), "{err}");
    let (code, _, err) =
        check(&udpu("quorum {\n provider: corosync_votequorum\n expected_votes: 3\n two_node: 1\n}\n"));
    assert_eq!(code, Some(1));
    assert!(err.contains("two_node: needs expected_votes: 2"), "{err}");
    // Without a provider: noted, no quorum.
    let (code, out, _) = check(&udpu("quorum {\n expected_votes: 3\n}\n"));
    assert_eq!(code, Some(0));
    assert!(out.contains("quorum: no provider: quorum is off") && !out.contains("expected votes"), "{out}");
}
