"""The crawl: Scrapy components (the add-on, the spider, downloader middlewares, the archive
extension, the error log, the run reporter, the replay add-on) and the parsers they use."""
