"""Services: the rules of the contract lifecycle, between the HTTP layer and storage/signing."""
