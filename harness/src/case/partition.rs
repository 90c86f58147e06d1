//! `--partition K/N`: one of N disjoint parts of the selected cases, for a CI fan-out.
//!
//! The cases are put in the order of their ids and dealt out like cards: the case at position
//! `i` (from 0) goes to part `i mod N + 1`. The parts are disjoint, together they are the whole
//! selection, their sizes differ by at most one, and they depend only on the set of ids, never
//! on the order files were read in or on a hash seed, so every run and every machine deals them
//! the same way. Adding or removing a case may move the cases after it to another part.

use std::collections::BTreeSet;
use std::str::FromStr;

use super::Case;

/// Why `--partition` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// Not of the form `K/N`.
    #[error("{0:?} is not of the form K/N (for example 2/4: the second of four parts)")]
    Form(String),
    /// N is 0.
    #[error("{0:?}: the number of parts N must be at least 1")]
    NoParts(String),
    /// K is 0 or larger than N.
    #[error("{0:?}: the part K must be between 1 and N")]
    OutOfRange(String),
}

/// Part `index` of `count` (both from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    /// Part `index` of `count`, both counted from 1.
    pub fn new(index: u32, count: u32) -> Result<Self, PartitionError> {
        let text = format!("{index}/{count}");
        if count == 0 {
            return Err(PartitionError::NoParts(text));
        }
        if index == 0 || index > count {
            return Err(PartitionError::OutOfRange(text));
        }
        Ok(Self { index, count })
    }

    /// K, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The cases of this part, in the order given.
    pub fn select(self, cases: Vec<Case>) -> Vec<Case> {
        let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let wanted = (self.index - 1) as usize;
        let count = self.count as usize;
        let mine: BTreeSet<String> = ids
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % count == wanted)
            .map(|(_, id)| id.to_owned())
            .collect();
        cases.into_iter().filter(|c| mine.contains(&c.id)).collect()
    }
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = || PartitionError::Form(text.to_owned());
        let (index, count) = text.trim().split_once('/').ok_or_else(form)?;
        let number = |n: &str| {
            let n = n.trim();
            // Digits only: no sign, no `+1`.
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(form());
            }
            n.parse::<u32>().map_err(|_| form())
        };
        Partition::new(number(index)?, number(count)?)
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/3".parse(), Partition::new(2, 3));
        assert_eq!("1/1".parse::<Partition>().unwrap().to_string(), "1/1");
        for bad in [
            "x", "", "1", "1/", "/3", "a/3", "1/b", "-1/3", "+1/3", "1/3/4", "1.0/3",
        ] {
            assert!(
                matches!(bad.parse::<Partition>(), Err(PartitionError::Form(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "0/3".parse::<Partition>(),
            Err(PartitionError::OutOfRange(_))
        ));
        assert!(matches!(
            "4/3".parse::<Partition>(),
            Err(PartitionError::OutOfRange(_))
        ));
        assert!(matches!(
            "1/0".parse::<Partition>(),
            Err(PartitionError::NoParts(_))
        ));
        assert!(matches!(
            "1/99999999999".parse::<Partition>(),
            Err(PartitionError::Form(_))
        ));
    }

    #[test]
    fn parts_are_disjoint_balanced_and_whole_whatever_the_order() {
        let suite = super::super::load_embedded().expect("the embedded suite loads");
        let mut reversed = suite.clone();
        reversed.reverse();
        for count in [1, 2, 3, 7, 200] {
            let mut seen = BTreeSet::new();
            let mut sizes = Vec::new();
            for index in 1..=count {
                let part = Partition::new(index, count).unwrap();
                let ids: Vec<String> = part
                    .select(suite.clone())
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                let mut again: Vec<String> = part
                    .select(reversed.clone())
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                again.reverse();
                assert_eq!(ids, again, "{part} depends on the order of the cases");
                sizes.push(ids.len());
                for id in ids {
                    assert!(seen.insert(id.clone()), "{id} is in two parts of {count}");
                }
            }
            assert_eq!(
                seen.len(),
                suite.len(),
                "the parts of {count} are not the whole suite"
            );
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "parts of {count}: sizes {sizes:?}");
        }
    }
}
