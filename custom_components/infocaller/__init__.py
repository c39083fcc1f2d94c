"""The Infocaller integration: place phone calls through Infocaller."""
