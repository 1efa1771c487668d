"""courseline.report_templates"""
