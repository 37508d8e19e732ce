"""What every core package may share without importing another: see ``common/db.py``."""
