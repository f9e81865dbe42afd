"""RFC 3161 timestamp tokens and the X.509 chains behind them, checked offline."""
