"""Staff identity: accounts, roles and their rights, API tokens, login throttling."""
