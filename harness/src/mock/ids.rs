//! Opaque ids and change keys of the mock's store.
//!
//! An id is base64 over a tag, the numbers that locate the object, and a checksum, so that a
//! malformed id (`ErrorInvalidIdMalformed`) and a well-formed id of nothing
//! (`ErrorItemNotFound`) can be told apart, as Exchange does. Ids are deterministic: the same
//! sequence of requests yields the same ids.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::folder::MockFolder;

const ITEM_TAG: u8 = 0x49;
const FOLDER_TAG: u8 = 0x46;
const CONVERSATION_TAG: u8 = 0x43;
// Exchange change keys start with `CQAAAB`: a 0x09 byte, then zeros.
const CHANGE_KEY_TAG: u8 = 0x09;

/// The `ConversationId/@Id` of conversation `number` (the number of the item that began it).
pub fn conversation_id(number: u64) -> String {
    let mut payload = vec![CONVERSATION_TAG];
    payload.extend_from_slice(&number.to_le_bytes());
    seal(payload)
}

/// Why an id could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not base64, wrong length, wrong kind, or a bad checksum.
    Malformed,
}

/// Where an item id points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemKey {
    /// The owning mailbox.
    pub mailbox: u16,
    /// The item's number in the store.
    pub number: u64,
}

/// Where a folder id points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FolderKey {
    /// The owning mailbox.
    pub mailbox: u16,
    /// Which folder.
    pub folder: MockFolder,
}

fn checksum(bytes: &[u8]) -> u32 {
    // FNV-1a with a fixed offset basis of our own: enough to catch typos and hand-edited ids.
    bytes.iter().fold(0x811c_9dc5 ^ 0x6577_7363, |h: u32, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

fn seal(mut payload: Vec<u8>) -> String {
    let sum = checksum(&payload);
    payload.extend_from_slice(&sum.to_le_bytes());
    STANDARD.encode(payload)
}

fn open(id: &str, tag: u8, len: usize) -> Result<Vec<u8>, IdError> {
    let bytes = STANDARD.decode(id.trim()).map_err(|_| IdError::Malformed)?;
    if bytes.len() != len + 4 || bytes[0] != tag {
        return Err(IdError::Malformed);
    }
    let (payload, sum) = bytes.split_at(len);
    if sum != checksum(payload).to_le_bytes() {
        return Err(IdError::Malformed);
    }
    Ok(payload.to_vec())
}

impl ItemKey {
    /// The opaque `ItemId/@Id`.
    pub fn encode(self) -> String {
        let mut payload = vec![ITEM_TAG];
        payload.extend_from_slice(&self.mailbox.to_le_bytes());
        payload.extend_from_slice(&self.number.to_le_bytes());
        seal(payload)
    }

    /// Reads an `ItemId/@Id`.
    pub fn decode(id: &str) -> Result<Self, IdError> {
        let p = open(id, ITEM_TAG, 11)?;
        Ok(Self {
            mailbox: u16::from_le_bytes([p[1], p[2]]),
            number: u64::from_le_bytes(p[3..11].try_into().map_err(|_| IdError::Malformed)?),
        })
    }
}

impl FolderKey {
    /// The opaque `FolderId/@Id`.
    pub fn encode(self) -> String {
        let mut payload = vec![FOLDER_TAG];
        payload.extend_from_slice(&self.mailbox.to_le_bytes());
        payload.push(self.folder as u8);
        seal(payload)
    }

    /// Reads a `FolderId/@Id`.
    pub fn decode(id: &str) -> Result<Self, IdError> {
        let p = open(id, FOLDER_TAG, 4)?;
        let folder = MockFolder::ALL
            .get(usize::from(p[3]))
            .copied()
            .ok_or(IdError::Malformed)?;
        Ok(Self {
            mailbox: u16::from_le_bytes([p[1], p[2]]),
            folder,
        })
    }
}

/// The change key of version `version` of item `number`: it moves on every change.
pub fn change_key(number: u64, version: u32) -> String {
    let mut bytes = vec![CHANGE_KEY_TAG, 0, 0, 0];
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&number.to_le_bytes());
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_damage_is_detected() {
        let key = ItemKey {
            mailbox: 3,
            number: 123_456,
        };
        let id = key.encode();
        assert_eq!(ItemKey::decode(&id), Ok(key));
        // Flip one character: still base64, but the checksum no longer matches.
        let mut damaged = id.clone().into_bytes();
        damaged[5] = if damaged[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            ItemKey::decode(std::str::from_utf8(&damaged).unwrap()),
            Err(IdError::Malformed)
        );
        assert_eq!(ItemKey::decode("%BadItemId%"), Err(IdError::Malformed));
        assert_eq!(ItemKey::decode("AAAtAEF="), Err(IdError::Malformed));
        // A folder id is not an item id.
        let folder = FolderKey {
            mailbox: 0,
            folder: MockFolder::Drafts,
        };
        assert_eq!(ItemKey::decode(&folder.encode()), Err(IdError::Malformed));
        assert_eq!(FolderKey::decode(&folder.encode()), Ok(folder));
    }

    #[test]
    fn change_keys_look_like_exchanges_and_move() {
        assert!(change_key(1, 1).starts_with("CQAAA"));
        assert_ne!(change_key(1, 1), change_key(1, 2));
        assert_ne!(change_key(1, 1), change_key(2, 1));
    }
}
