//! Each id pattern against the parser it describes.
