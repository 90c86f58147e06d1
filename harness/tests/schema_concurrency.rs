//! One `SchemaSet` shared by several threads gives the same results as one thread.

mod common;

use common::{M, SOAP};
use ewsconf::schema::{SchemaSet, Validation};

fn documents() -> Vec<Vec<u8>> {
    let valid = common::success_envelope();
    vec![
        valid.clone().into_bytes(),
        valid.replace("NoError", "NotACode").into_bytes(),
        valid.replace("ResponseClass=\"Success\"", "").into_bytes(),
        valid.as_bytes()[..valid.len() - 40].to_vec(),
        format!("<!DOCTYPE x>{valid}").into_bytes(),
        format!(r#"<m:SendItem xmlns:m="{M}"><m:ItemIds/></m:SendItem>"#).into_bytes(),
        format!(
            r#"<s:Envelope xmlns:s="{SOAP}"><s:Body><m:X xmlns:m="{M}"/></s:Body></s:Envelope>"#
        )
        .into_bytes(),
        b"\xff\xfe".to_vec(),
    ]
}

#[test]
fn threads_share_one_set_and_agree_with_a_single_thread() {
    let set = SchemaSet::embedded().unwrap();
    let docs = documents();
    let expected: Vec<Validation> = docs.iter().map(|d| set.validate(d)).collect();
    assert!(expected[0].is_valid());
    assert!(expected[1..].iter().all(|v| !v.is_valid()), "{expected:?}");

    let per_thread: Vec<Vec<Validation>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let docs = &docs;
                scope.spawn(move || {
                    (0..300)
                        .map(|i| set.validate(&docs[(i + t) % docs.len()]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (t, results) in per_thread.iter().enumerate() {
        for (i, result) in results.iter().enumerate() {
            assert_eq!(
                result,
                &expected[(i + t) % docs.len()],
                "thread {t}, iteration {i}"
            );
        }
    }
}
