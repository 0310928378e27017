"""Messages as events, and how each kind of screen renders them."""
