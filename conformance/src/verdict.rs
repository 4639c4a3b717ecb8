//! What a checker says about one guarantee of one implementation.

use std::fmt;

/// Whether an implementation's own documentation promises a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Its documentation promises it (or it is what the primitive is for: a semaphore that hands
    /// out more permits than it has is broken whatever its docs say).
    Claimed,
    /// Its documentation does not promise it. The text says where the documentation says so (or
    /// what it promises instead), so a reader can check. The checker still runs and reports what
    /// it observed, but a violation is a documented difference, not a bug.
    NotClaimed(&'static str),
}

/// The smallest failing case a checker found: the steps it took, the step that failed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    /// The seed of the failing case: [`Config::replay`](crate::Config::replay) with it runs this
    /// case (before shrinking) again.
    pub seed: u64,
    /// The case's setup (e.g. `permits = 2`).
    pub setup: String,
    /// The operations of the shrunk case, in order, the failing one last.
    pub steps: Vec<String>,
    /// What went wrong at the last step.
    pub failure: String,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.failure)?;
        writeln!(f, "  setup: {}", self.setup)?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {:>2}. {step}", i + 1)?;
        }
        write!(f, "  replay: CONFORMANCE_REPLAY={:#x}", self.seed)
    }
}

/// The checker's finding for one guarantee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No case out of `cases` broke it.
    Holds {
        /// Cases run.
        cases: u32,
    },
    /// A case broke it.
    Violated(Box<Counterexample>),
}

impl Verdict {
    /// Whether no case broke the guarantee.
    #[must_use]
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds { .. })
    }

    /// The counterexample, if a case broke it.
    #[must_use]
    pub fn counterexample(&self) -> Option<&Counterexample> {
        match self {
            Verdict::Violated(c) => Some(c),
            Verdict::Holds { .. } => None,
        }
    }
}

/// One guarantee's row of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The guarantee's short name (e.g. `fifo`), as in the matrix.
    pub guarantee: &'static str,
    /// What it means, in a sentence.
    pub meaning: &'static str,
    /// Whether the implementation's documentation promises it.
    pub claim: Claim,
    /// What the checker observed.
    pub verdict: Verdict,
}

impl Finding {
    /// A violation of a claimed guarantee: a bug, by the implementation's own documentation.
    #[must_use]
    pub fn is_bug(&self) -> bool {
        self.claim == Claim::Claimed && !self.verdict.holds()
    }
}

/// Every guarantee of one pattern checked on one implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The pattern (`semaphore`, `mutex`, `rwlock`, `channel`, `rate`, `conn_pool`, `token`,
    /// `tracker`).
    pub pattern: &'static str,
    /// The implementation's name, as given to the checker.
    pub implementation: String,
    /// One finding per guarantee, in the pattern's order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The findings that are bugs: claimed guarantees the checker saw broken.
    pub fn bugs(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_bug())
    }

    /// Panics with the report unless every claimed guarantee holds: the one line a user's test
    /// needs.
    #[track_caller]
    pub fn assert_conforms(&self) {
        if self.bugs().next().is_some() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} conformance of {}:",
            self.pattern, self.implementation
        )?;
        for finding in &self.findings {
            let mark = match (&finding.verdict, finding.claim) {
                (Verdict::Holds { cases }, Claim::Claimed) => format!("holds ({cases} cases)"),
                (Verdict::Violated(_), Claim::Claimed) => "VIOLATED".to_string(),
                (Verdict::Holds { .. }, Claim::NotClaimed(_)) => {
                    "not claimed (observed: holds)".to_string()
                }
                (Verdict::Violated(_), Claim::NotClaimed(_)) => {
                    "not claimed (observed: violated)".to_string()
                }
            };
            writeln!(f, "  {:<22} {mark}", finding.guarantee)?;
            if let Claim::NotClaimed(why) = finding.claim {
                writeln!(f, "      {why}")?;
            }
            if let (Verdict::Violated(c), Claim::Claimed) = (&finding.verdict, finding.claim) {
                for line in c.to_string().lines() {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        Ok(())
    }
}
