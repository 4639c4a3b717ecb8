//! The matrix: every report of a run, rendered as Markdown (guarantee × implementation per
//! pattern, with notes) and as JSON.

use std::fmt::Write as _;

use crate::verdict::{Claim, Finding, Report, Verdict};

/// The reports of one run, and what produced them.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// How the run was made (preset, seed, cases), for the header.
    pub settings: String,
    /// Every report, in the order they were checked.
    pub reports: Vec<Report>,
}

/// What the marks mean.
const LEGEND: &str = "✓ holds · ✗ violated: a bug by the implementation's own documentation · nc: \
                      not claimed by its documentation (what was observed in brackets) · —: it \
                      has no such operation\n";

/// A finding with its pattern and implementation, for the notes.
type Note<'a> = (&'static str, &'a str, &'a Finding);

/// A cell of the matrix.
fn cell(claim: Claim, verdict: &Verdict) -> &'static str {
    match (claim, verdict.holds()) {
        (Claim::Claimed, true) => "✓",
        (Claim::Claimed, false) => "✗",
        (Claim::NotClaimed(_), true) => "nc (✓)",
        (Claim::NotClaimed(_), false) => "nc (✗)",
    }
}

impl Matrix {
    /// The patterns, in first-seen order.
    fn patterns(&self) -> Vec<&'static str> {
        let mut patterns: Vec<&'static str> = Vec::new();
        for report in &self.reports {
            if !patterns.contains(&report.pattern) {
                patterns.push(report.pattern);
            }
        }
        patterns
    }

    /// The claimed guarantees found violated in implementations whose name starts with
    /// `prefix` (the gate fails on those of this project's own).
    pub fn bugs_in<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = String> + 'a {
        self.reports
            .iter()
            .filter(move |r| r.implementation.starts_with(prefix))
            .flat_map(|r| {
                r.bugs()
                    .map(move |f| format!("{} {}: {}", r.pattern, r.implementation, f.guarantee))
            })
    }

    /// The tables alone, one per pattern, with the legend: what the README shows. Each cell is a
    /// mark only (no note numbers), so the text changes only when a verdict or a version does.
    #[must_use]
    pub fn tables_markdown(&self) -> String {
        let mut out = String::from(LEGEND);
        self.tables(&mut out, None);
        out
    }

    /// The Markdown matrix: a table per pattern (✓ holds, ✗ violated — a bug by the
    /// implementation's own documentation —, nc: not claimed by it, with what was observed, —: no
    /// such operation), then a note per ✗ (its counterexample) and per nc (the citation).
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Conformance matrix\n\n{}\n", self.settings);
        out.push_str(LEGEND);
        let mut notes = Vec::new();
        self.tables(&mut out, Some(&mut notes));
        if !notes.is_empty() {
            out.push_str("\n## Notes\n\n");
        }
        for (i, (pattern, implementation, f)) in notes.iter().enumerate() {
            let _ = write!(
                out,
                "{}. **{pattern} / {implementation} / `{}`** — ",
                i + 1,
                f.guarantee
            );
            if let Claim::NotClaimed(why) = f.claim {
                let _ = writeln!(out, "not claimed: {why}.");
            } else {
                out.push_str("violated.\n");
            }
            if let Verdict::Violated(c) = &f.verdict {
                let _ = writeln!(out, "   Observed: {}; setup `{}`:", c.failure, c.setup);
                for (k, step) in c.steps.iter().enumerate() {
                    let _ = writeln!(out, "   {}. `{step}`", k + 1);
                }
                let _ = writeln!(out, "   (replay: `CONFORMANCE_REPLAY={:#x}`)", c.seed);
            }
        }
        out
    }

    /// Writes a table per pattern; with `notes`, numbers each cell that is not ✓ and collects
    /// its finding.
    fn tables<'a>(&'a self, out: &mut String, mut notes: Option<&mut Vec<Note<'a>>>) {
        for pattern in self.patterns() {
            let reports: Vec<&Report> = self
                .reports
                .iter()
                .filter(|r| r.pattern == pattern)
                .collect();
            let mut guarantees: Vec<&'static str> = Vec::new();
            for finding in reports.iter().flat_map(|r| &r.findings) {
                if !guarantees.contains(&finding.guarantee) {
                    guarantees.push(finding.guarantee);
                }
            }
            let _ = writeln!(out, "\n### {pattern}\n");
            let _ = write!(out, "| guarantee |");
            for r in &reports {
                let _ = write!(out, " {} |", r.implementation);
            }
            let _ = write!(out, "\n|---|");
            for _ in &reports {
                out.push_str("---|");
            }
            out.push('\n');
            for g in &guarantees {
                let _ = write!(out, "| `{g}` |");
                for r in &reports {
                    let Some(f) = r.findings.iter().find(|f| f.guarantee == *g) else {
                        out.push_str(" — |");
                        continue;
                    };
                    let mark = cell(f.claim, &f.verdict);
                    match notes.as_deref_mut() {
                        Some(notes) if mark != "✓" => {
                            notes.push((pattern, r.implementation.as_str(), f));
                            let _ = write!(out, " {mark} [{}] |", notes.len());
                        }
                        _ => {
                            let _ = write!(out, " {mark} |");
                        }
                    }
                }
                out.push('\n');
            }
        }
    }

    /// The same as JSON: `{"settings": …, "reports": [{"pattern", "implementation", "findings":
    /// [{"guarantee", "meaning", "claimed", "not_claimed_because", "holds", "cases",
    /// "counterexample": {"seed", "setup", "steps", "failure"}}]}]}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{{\"settings\":{},\"reports\":[", json(&self.settings));
        for (i, r) in self.reports.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\n{{\"pattern\":{},\"implementation\":{},\"findings\":[",
                json(r.pattern),
                json(&r.implementation)
            );
            for (k, f) in r.findings.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let (claimed, because) = match f.claim {
                    Claim::Claimed => (true, "null".to_string()),
                    Claim::NotClaimed(why) => (false, json(why)),
                };
                let (holds, cases, counterexample) = match &f.verdict {
                    Verdict::Holds { cases } => (true, cases.to_string(), "null".to_string()),
                    Verdict::Violated(c) => {
                        let steps: Vec<String> = c.steps.iter().map(|s| json(s)).collect();
                        (
                            false,
                            "null".to_string(),
                            format!(
                                "{{\"seed\":\"{:#x}\",\"setup\":{},\"steps\":[{}],\"failure\":{}}}",
                                c.seed,
                                json(&c.setup),
                                steps.join(","),
                                json(&c.failure)
                            ),
                        )
                    }
                };
                let _ = write!(
                    out,
                    "{{\"guarantee\":{},\"meaning\":{},\"claimed\":{claimed},\
                     \"not_claimed_because\":{because},\"holds\":{holds},\"cases\":{cases},\
                     \"counterexample\":{counterexample}}}",
                    json(f.guarantee),
                    json(f.meaning)
                );
            }
            out.push_str("]}");
        }
        out.push_str("\n]}\n");
        out
    }
}

/// A JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Counterexample;

    #[test]
    fn json_escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(json("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn markdown_marks_bugs_and_documented_differences_apart() {
        let violated = Verdict::Violated(Box::new(Counterexample {
            seed: 7,
            setup: "1".into(),
            steps: vec!["Acquire(1)".into()],
            failure: "lost".into(),
        }));
        let finding = |claim, verdict: &Verdict| Finding {
            guarantee: "fifo",
            meaning: "m",
            claim,
            verdict: verdict.clone(),
        };
        let matrix = Matrix {
            settings: "quick".into(),
            reports: vec![
                Report {
                    pattern: "semaphore",
                    implementation: "a".into(),
                    findings: vec![finding(Claim::Claimed, &violated)],
                },
                Report {
                    pattern: "semaphore",
                    implementation: "b".into(),
                    findings: vec![finding(Claim::NotClaimed("docs say so"), &violated)],
                },
            ],
        };
        let md = matrix.to_markdown();
        assert!(md.contains("| `fifo` | ✗ [1] | nc (✗) [2] |"), "{md}");
        assert!(matrix.tables_markdown().contains("| `fifo` | ✗ | nc (✗) |"));
        assert!(md.contains("not claimed: docs say so."), "{md}");
        assert_eq!(matrix.bugs_in("a").count(), 1);
        assert_eq!(matrix.bugs_in("b").count(), 0);
        assert!(matrix.to_json().contains("\"seed\":\"0x7\""));
    }
}
