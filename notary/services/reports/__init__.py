"""瞒报 reports: a person lodges a signed report that a platform did not file a contract it holds;
the notary stores it, logs it as a leaf, marks it filed late if the platform files the document
later, and shows it to operators, to investigators of the platform, and in the platform's figures."""
