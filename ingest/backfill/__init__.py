"""Back-filling a source's history from web archives: the Wayback Machine's CDX index and raw captures
(`cdx`, `client`, `wayback`), imported through the importer and the fetch guard like any saved page."""
