"""One module per KYC provider, each with one `kyc.providers.base.Provider` subclass.
A new provider is a new module here; the registry finds it by itself."""
