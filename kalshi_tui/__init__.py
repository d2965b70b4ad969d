"""kalshi-tui: choose, check, promote and roll back the RL model that trades Kalshi markets."""

__version__ = "0.1.0"
