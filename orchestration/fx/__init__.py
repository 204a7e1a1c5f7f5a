"""Foreign-exchange reference rates (the ECB's euro reference rates), imported from a file the operator provides
and kept in one shared reference table the marts convert amounts with."""
