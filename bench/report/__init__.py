"""Reporting: `bench report`'s PDF, HTML, PNGs and summary.md, drawn from loaded runs only."""
