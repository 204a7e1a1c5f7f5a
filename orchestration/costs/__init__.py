"""Cost of goods: the unit costs sellers provide (SKU, cost, currency, valid from), validated and kept with history."""
