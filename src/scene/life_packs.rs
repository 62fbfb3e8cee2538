//! `pack.life_packs`: which packs are aged, written as the word `"all"` or a count.

use serde::{Deserialize, Serialize};

/// Which packs are aged (`pack.life_packs`): every pack, or an evenly spread sample of about `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LifePacksToml", into = "LifePacksToml")]
pub enum LifePacks {
    /// Every pack (up to [`LifePacks::ALL_CELLS`] cells; a stated sample above).
    All,
    /// About this many packs, spread evenly over the run's pack slots (0: none).
    Sample(u32),
}

impl LifePacks {
    /// Runs up to this many cells age every pack under `"all"`; a larger run ages every k-th pack
    /// slot, k = ⌈cells / ALL_CELLS⌉, so the work stays that of a 10⁷-cell run.
    pub const ALL_CELLS: u64 = 10_000_000;

    /// At most `n` packs (a preview or a sweep point bounds its cost this way).
    pub fn at_most(self, n: u32) -> LifePacks {
        match self {
            LifePacks::Sample(m) if m <= n => self,
            _ => LifePacks::Sample(n),
        }
    }
}

/// The TOML form: the word `"all"` or a whole number.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LifePacksToml {
    Count(u32),
    Word(String),
}

impl TryFrom<LifePacksToml> for LifePacks {
    type Error = String;
    fn try_from(v: LifePacksToml) -> Result<LifePacks, String> {
        match v {
            LifePacksToml::Count(n) => Ok(LifePacks::Sample(n)),
            LifePacksToml::Word(w) if w == "all" => Ok(LifePacks::All),
            LifePacksToml::Word(w) => Err(format!(
                "expected \"all\" or a number of packs, got \"{w}\""
            )),
        }
    }
}

impl From<LifePacks> for LifePacksToml {
    fn from(v: LifePacks) -> LifePacksToml {
        match v {
            LifePacks::All => LifePacksToml::Word("all".into()),
            LifePacks::Sample(n) => LifePacksToml::Count(n),
        }
    }
}
