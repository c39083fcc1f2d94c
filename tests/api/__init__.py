"""Tests for the Infocaller API client."""
