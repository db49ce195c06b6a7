"""App settings and the rules file, parsed and checked into one AppConfig; which rules watch a blob."""
