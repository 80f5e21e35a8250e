"""The only code that talks to the terminal: rich for output, questionary for questions."""
