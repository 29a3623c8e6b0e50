"""Reports rendered from an audit's records: HTML pages and Stryker's JSON."""
