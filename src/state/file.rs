//! The versioned JSON state file: sniff the version, then decode; write only the newest.

use super::model::{STATE_VERSION, State};

/// Why a state document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("the state is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the state has no \"version\" field; it was not written by dmsform")]
    NoVersion,
    #[error(
        "the state was written by a newer dmsform (state format version {found}; this build reads up to {STATE_VERSION}); upgrade dmsform"
    )]
    TooNew { found: u64 },
    #[error("the state format version {found} is not supported")]
    Unsupported { found: u64 },
}

/// Decodes a state document of any supported version.
pub fn decode(bytes: &[u8]) -> Result<State, StateFileError> {
    let raw: serde_json::Value = serde_json::from_slice(bytes)?;
    let version = raw
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or(StateFileError::NoVersion)?;
    match version {
        1 => Ok(serde_json::from_value(raw)?),
        v if v > STATE_VERSION => Err(StateFileError::TooNew { found: v }),
        v => Err(StateFileError::Unsupported { found: v }),
    }
}

/// Encodes a state in the newest format, pretty-printed with a trailing newline.
pub fn encode(state: &State) -> Vec<u8> {
    let mut s = state.clone();
    s.version = STATE_VERSION;
    s.dmsform_version = env!("CARGO_PKG_VERSION").to_string();
    let mut bytes = serde_json::to_vec_pretty(&s).expect("invariant: state is always serializable");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_versions() {
        assert!(matches!(decode(b"{}"), Err(StateFileError::NoVersion)));
        assert!(matches!(
            decode(b"{\"version\": 9}"),
            Err(StateFileError::TooNew { found: 9 })
        ));
        assert!(matches!(
            decode(b"{\"version\": 0}"),
            Err(StateFileError::Unsupported { found: 0 })
        ));
        assert!(matches!(decode(b"not json"), Err(StateFileError::Json(_))));
        let s = State::new();
        assert_eq!(decode(&encode(&s)).unwrap(), s);
    }
}
