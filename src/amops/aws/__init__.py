"""Small adapters over AWS services, each returning plain data and raising amops errors."""
