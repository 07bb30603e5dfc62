//! The tokens file of `bazaar sim --target URL --tokens FILE`: who the simulator acts as on a
//! running node. TOML, or JSON when the file name ends in `.json`, with the same shape:
//!
//! ```toml
//! operator = "bzr_..."            # an operator token: drills, ledger, reconciliation
//! [sellers]                       # seller principal = its token (at least one)
//! acme = "bzr_..."
//! [customers]                     # customer principal = its token (at least one)
//! customer-1 = "bzr_..."
//! ```
//!
//! Invariant: a file that parses has an operator, at least one seller and one customer, and
//! no unknown field; principals keep the file's (sorted) order.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensFile {
    pub operator: String,
    pub sellers: BTreeMap<String, String>,
    pub customers: BTreeMap<String, String>,
}

impl TokensFile {
    pub fn load(path: &Path) -> Result<TokensFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json = path.extension().is_some_and(|e| e == "json");
        TokensFile::parse(&text, json).map_err(|e| format!("tokens {}: {e}", path.display()))
    }

    pub fn parse(text: &str, json: bool) -> Result<TokensFile, String> {
        let file: TokensFile = if json {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            toml::from_str(text).map_err(|e| e.to_string())?
        };
        if file.sellers.is_empty() || file.customers.is_empty() || file.operator.is_empty() {
            return Err("an operator token, one seller and one customer at least".to_string());
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_have_the_same_shape_and_unknown_fields_are_refused() {
        let toml = "operator = \"o\"\n[sellers]\ns1 = \"a\"\n[customers]\nc1 = \"b\"\nc2 = \"c\"\n";
        let file = TokensFile::parse(toml, false).unwrap();
        assert_eq!((file.sellers.len(), file.customers.len()), (1, 2));
        let json = r#"{"operator": "o", "sellers": {"s1": "a"}, "customers": {"c1": "b"}}"#;
        assert_eq!(TokensFile::parse(json, true).unwrap().operator, "o");
        let error = TokensFile::parse(&format!("{toml}\n[support]\nx = \"y\"\n"), false);
        assert!(error.unwrap_err().contains("support"));
        assert!(TokensFile::parse("operator = \"o\"\n[sellers]\n[customers]\n", false).is_err());
    }
}
