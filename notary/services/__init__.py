"""Services: the rules of the contract's life. They take their dependencies explicitly."""
