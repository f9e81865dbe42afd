"""Keys and signers: key files now (an HSM later), the notary's PKI, the timestamp authorities."""
