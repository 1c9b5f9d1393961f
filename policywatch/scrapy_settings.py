"""The settings module of `scrapy crawl policies` and `scrapy list` (named in scrapy.cfg).

It applies policywatch's typed configuration (options aside: the
environment and the settings file) to the crawler's Scrapy settings, so a
Scrapy command crawls exactly what `policywatch crawl` would.
"""

from crawler.settings import scrapy_settings
from policywatch.allocator import keep_freed_memory
from policywatch.collector import collect_less_often
from policywatch.config import load_settings

# Scrapy reads this module in the process that crawls, before any page is fetched: as `policywatch` does.
keep_freed_memory()
collect_less_often()
globals().update(scrapy_settings(load_settings().crawl_options()))
