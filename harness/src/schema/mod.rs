//! XSD validation of EWS documents over libxml2 (placeholder until the validator lands).
