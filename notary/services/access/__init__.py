"""Who may see what: platforms, logins, key holders, investigators' cases, contracts, exports."""
