"""Tests for the Infocaller integration."""
