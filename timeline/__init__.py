"""courseline.timeline"""
