"""`engine sandbox`: a local server on loopback that speaks Alpaca's wire protocol (DESIGN §7), so the
real alpaca-py clients can fetch bars and news and trade on paper with no keys and no network."""
