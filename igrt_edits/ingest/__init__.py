"""Reading claim files into the data contract's lines."""
