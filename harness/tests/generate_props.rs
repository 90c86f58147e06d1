//! The generator against the schemas: every valid request it makes validates against the
//! project's schemas and the official ones, and every schema-level malformation is rejected by
//! both. Same seed, same sequence.

mod common;

use std::sync::OnceLock;

use ewsconf::ews::{FolderId, ItemId};
use ewsconf::generate::{
    FuzzCase, Level, Malformation, PoolIds, SchemaEra, arb_fuzz_case, arb_send_shape,
};
use ewsconf::schema::SchemaSet;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn pool() -> PoolIds {
    PoolIds {
        drafts: (0..5)
            .map(|i| {
                ItemId::new(format!("AAMkAGRh{i}ZjA=")).with_change_key(format!("CQAAABYA{i}"))
            })
            .collect(),
        stale: vec![Some("CQAAABYAold".into()); 5],
        task: ItemId::new("AAMkAGRhdGFzaw==").with_change_key("CQAAABYAtask"),
        ghost: ItemId::new("AAMkAGRoZ2hvc3Q=").with_change_key("CQAAABYAghost"),
        sender: "boss@example.com".into(),
        outsider: "mallory@example.com".into(),
        inbox: FolderId::new("AQMkAGluYm94"),
    }
}

fn official() -> Option<&'static [SchemaSet]> {
    static SETS: OnceLock<Option<Vec<SchemaSet>>> = OnceLock::new();
    SETS.get_or_init(|| {
        let shared = common::shared_dir()?;
        Some(vec![
            SchemaSet::from_dir(&shared.join("ews-schemas/Exchange2016-O365-2023")).unwrap(),
        ])
    })
    .as_deref()
}

fn ours() -> &'static SchemaSet {
    SchemaSet::embedded().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_generated_valid_request_validates(shape in arb_send_shape(SchemaEra::Current)) {
        let case = FuzzCase { shape, malformation: None };
        let body = case.render(&pool(), None, 16 << 20).body;
        prop_assert!(ours().validate(&body).is_valid(), "{}", String::from_utf8_lossy(&body));
        for set in official().unwrap_or_default() {
            prop_assert!(set.validate(&body).is_valid(), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn every_schema_level_malformation_is_rejected_by_both(
        shape in arb_send_shape(SchemaEra::Current),
        m in proptest::sample::select(Malformation::ALL.iter().copied().filter(|m| m.level() == Level::Schema).collect::<Vec<_>>()),
    ) {
        let case = FuzzCase { shape, malformation: Some(m) };
        let body = case.render(&pool(), None, 16 << 20).body;
        prop_assert!(!ours().validate(&body).is_valid(), "{m}: {}", String::from_utf8_lossy(&body));
        for set in official().unwrap_or_default() {
            prop_assert!(!set.validate(&body).is_valid(), "{m}: {}", String::from_utf8_lossy(&body));
        }
    }
}

#[test]
fn semantic_malformations_stay_schema_valid() {
    let mut runner = TestRunner::deterministic();
    for m in Malformation::ALL
        .iter()
        .filter(|m| m.level() == Level::Semantic)
    {
        for _ in 0..50 {
            let shape = arb_send_shape(SchemaEra::Current)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let case = FuzzCase {
                shape,
                malformation: Some(*m),
            };
            let body = case.render(&pool(), None, 16 << 20).body;
            assert!(
                ours().validate(&body).is_valid(),
                "{m}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

fn sequence(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = arb_fuzz_case(SchemaEra::Current);
    (0..n)
        .map(|_| {
            let case = strategy.new_tree(&mut runner).unwrap().current();
            // Oversize bodies are 16 MiB of padding: compare their head only.
            let mut body = case.render(&pool(), None, 1024).body;
            body.truncate(4096);
            body
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_sequence_of_requests() {
    assert_eq!(sequence(42, 300), sequence(42, 300));
    assert_ne!(sequence(42, 300), sequence(43, 300));
}
