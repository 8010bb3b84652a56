// Nothing to import: FuzzEntry only provides link-time symbols (see FuzzEntry.c).
